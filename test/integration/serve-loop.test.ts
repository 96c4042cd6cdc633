import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStack } from '../../stacks/load.ts';
import { waitFor } from '../../clusters/wait.ts';
import { ServeLog } from '../../reconciler/serve/log.ts';
import { ServeMetrics } from '../../reconciler/serve/metrics.ts';
import { ServeLoop } from '../../reconciler/serve/serve-loop.ts';
import { clients, testClusters } from '../harness/environment.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** The serve loop in-process on the real clusters: bursts coalesce, mirror lag is retried, broken commits change nothing. */

const clusters = testClusters();
let repo: GitFixture;
let cache: string;
const lines: string[] = [];

const cm = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: burst\n  namespace: default\ndata:\n  value: "${value}"\n`;

async function valuesOnClusters(): Promise<(string | undefined)[]> {
  return Promise.all(
    clusters.map(async (c) => {
      try {
        return (await clients(c).core.readNamespacedConfigMap({ name: 'burst', namespace: 'default' })).data?.['value'];
      } catch {
        return undefined;
      }
    }),
  );
}

async function runsOf(metrics: ServeMetrics, app: string): Promise<number> {
  const m = await metrics.reconcileRuns.get();
  return m.values.find((v) => v.labels['app'] === app)?.value ?? 0;
}

function newLoop(metrics: ServeMetrics) {
  // Polls and drift checks far away: only the triggers of the test drive the loop.
  const stack = stackFor(repo.dir, [{ name: 'burst', path: 'app', targets: { clusters: clusters.map((c) => c.name) } }]);
  const withSlowTimers = { ...stack, gitops: { ...stack.gitops, sources: stack.gitops.sources.map((s) => ({ ...s, intervalMs: 3_600_000, driftIntervalMs: 3_600_000 })) } };
  return new ServeLoop({ stack: withSlowTimers, cacheRoot: cache, metrics, log: new ServeLog('json', (l) => lines.push(l)) });
}

beforeAll(async () => {
  repo = await GitFixture.create();
  cache = await mkdtemp(join(tmpdir(), 'infra-serve-cache-'));
  await repo.commit({ 'app/cm.yaml': cm('0') });
});
afterAll(async () => {
  await repo.remove();
  await rm(cache, { recursive: true, force: true });
});

describe('serve loop', () => {
  it('10 rapid triggers end with every cluster at the last commit, in fewer than 10 reconciles', async () => {
    const metrics = new ServeMetrics({ processMetrics: false });
    const loop = newLoop(metrics);
    await loop.start();
    await loop.idle();
    expect(loop.readiness()).toEqual({ ready: true, why: '' });
    expect(await valuesOnClusters()).toEqual(clusters.map(() => '0'));

    for (let i = 1; i <= 10; i++) {
      const sha = await repo.commit({ 'app/cm.yaml': cm(String(i)) });
      loop.trigger({ source: 'repo', revision: sha, reason: 'webhook' });
    }
    await loop.idle();
    expect(await valuesOnClusters()).toEqual(clusters.map(() => '10'));
    const runs = await runsOf(metrics, 'burst');
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs, 'bursts coalesce').toBeLessThan(10);
    await loop.stop();
  });

  it('a commit announced before the mirror has it is retried with backoff, not dropped', async () => {
    const metrics = new ServeMetrics({ processMetrics: false });
    const loop = newLoop(metrics);
    await loop.start();
    await loop.idle();
    // The "primary" is a clone the push lands on first; the source (the mirror) gets it later.
    const primary = await mkdtemp(join(tmpdir(), 'infra-serve-primary-'));
    try {
      const git = simpleGit();
      await git.clone(repo.dir, primary);
      const p = simpleGit({ baseDir: primary });
      await p.addConfig('user.email', 'test@infra.dev').addConfig('user.name', 'infra tests').addConfig('commit.gpgsign', 'false');
      await writeFile(join(primary, 'app', 'cm.yaml'), cm('lagged'));
      await p.add(['-A']);
      await p.commit('lagged');
      const sha = (await p.revparse(['HEAD'])).trim();

      loop.trigger({ source: 'repo', revision: sha, reason: 'webhook' });
      const retried = await waitFor(async () => ((await metrics.queueRetries.get()).values.find((v) => v.labels['app'] === 'burst')?.value ?? 0) > 0 || undefined, { timeoutMs: 30_000 });
      expect(retried, 'the unknown commit puts the job back').toBe(true);
      expect(lines.some((l) => l.includes('is not fetchable yet'))).toBe(true);
      expect(await valuesOnClusters(), 'nothing applied while the commit is missing').toEqual(clusters.map(() => '10'));

      await simpleGit({ baseDir: repo.dir }).pull(primary, 'main', { '--ff-only': null });
      const arrived = await waitFor(async () => ((await valuesOnClusters()).every((v) => v === 'lagged') ? true : undefined), { timeoutMs: 60_000 });
      expect(arrived, 'the retried job applies the commit once the mirror serves it').toBe(true);
    } finally {
      await loop.stop();
      await rm(primary, { recursive: true, force: true });
    }
  });

  it('a broken commit changes nothing on any cluster and is reported', async () => {
    const metrics = new ServeMetrics({ processMetrics: false });
    const loop = newLoop(metrics);
    await loop.start();
    await loop.idle();
    const before = await valuesOnClusters();
    const sha = await repo.commit({ 'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [\n' });
    lines.length = 0;
    loop.trigger({ source: 'repo', revision: sha, reason: 'webhook' });
    await loop.idle();
    expect(await valuesOnClusters()).toEqual(before);
    const reported = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['level'] === 'warn' && String(l['msg']).startsWith('RenderFailed'));
    expect(reported.map((l) => l['cluster']).sort()).toEqual(clusters.map((c) => c.name).sort());
    expect(reported[0]).toMatchObject({ app: 'burst', revision: sha });
    const failed = (await metrics.reconcileDuration.get()).values.filter((v) => v.labels['result'] === 'failed' && String(v.metricName).endsWith('_count'));
    expect(failed.length).toBe(clusters.length);
    await loop.stop();
  });

  it('a stack in Git that is broken at start serves nothing (no round with the bootstrap stack prunes the apps) until a push fixes it', async () => {
    const stackText = (apps: boolean) =>
      stringify({
        apiVersion: 'infra.dev/v1alpha1',
        kind: 'Stack',
        metadata: { name: 'serve-loop' },
        clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
        gitops: {
          sources: [{ name: 'repo', url: repo.dir, interval: '1h', driftInterval: '1h' }],
          apps: apps ? [{ name: 'burst', source: 'repo', path: 'app', targets: { clusters: clusters.map((c) => c.name) } }] : [],
        },
      });
    const fixed = await repo.commit({ 'app/cm.yaml': cm('from-git-stack'), 'stacks/s.yaml': `${stackText(true)}\nbogus: 1\n` });
    const before = await valuesOnClusters();
    expect(before.every((v) => v !== undefined), 'the app exists from the tests above').toBe(true);
    const bootstrap = parseStack(join(cache, 'bootstrap.yaml'), stackText(false));
    const metrics = new ServeMetrics({ processMetrics: false });
    const loop = new ServeLoop({ stack: bootstrap, stackFrom: { at: { source: 'repo', path: 'stacks/s.yaml' }, source: bootstrap.gitops.sources[0]! }, cacheRoot: cache, metrics, log: new ServeLog('json', (l) => lines.push(l)) });
    try {
      lines.length = 0;
      await loop.start();
      const reported = await waitFor(async () => (lines.some((l) => l.includes('nothing is served until a push fixes it') && l.includes('bogus')) ? true : undefined), { timeoutMs: 30_000 });
      expect(reported).toBe(true);
      expect(loop.readiness().ready).toBe(false);
      expect(await valuesOnClusters(), `nothing pruned, nothing applied (${fixed})`).toEqual(before);

      const sha = await repo.commit({ 'stacks/s.yaml': stackText(true) });
      loop.trigger({ source: 'repo', revision: sha, reason: 'webhook' });
      const served = await waitFor(async () => ((await valuesOnClusters()).every((v) => v === 'from-git-stack') ? true : undefined), { timeoutMs: 60_000 });
      expect(served).toBe(true);
      await waitFor(async () => (loop.readiness().ready ? true : undefined), { timeoutMs: 30_000 });
      expect(loop.readiness()).toEqual({ ready: true, why: '' });
    } finally {
      await loop.stop();
    }
  });

  it('a push to a source of three apps is one round, every app once', async () => {
    const names = ['multi-a', 'multi-b', 'multi-c'];
    const files = (v: string) => Object.fromEntries(names.map((n) => [`multi/${n}/cm.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\n  namespace: default\ndata:\n  value: "${v}"\n`]));
    await repo.commit(files('1'));
    const stack = stackFor(repo.dir, [{ name: 'burst', path: 'app', targets: { clusters: clusters.map((c) => c.name) } }, ...names.map((n) => ({ name: n, path: `multi/${n}`, targets: { clusters: clusters.map((c) => c.name) } }))]);
    const metrics = new ServeMetrics({ processMetrics: false });
    const loop = new ServeLoop({ stack: { ...stack, gitops: { ...stack.gitops, sources: stack.gitops.sources.map((s) => ({ ...s, intervalMs: 3_600_000, driftIntervalMs: 3_600_000 })) } }, cacheRoot: cache, metrics, log: new ServeLog('json', () => undefined) });
    try {
      await loop.start();
      await loop.idle();
      const rounds = (await metrics.reconcileRounds.get()).values[0]?.value ?? 0;
      const sha = await repo.commit(files('2'));
      expect(loop.trigger({ source: 'repo', revision: sha, reason: 'webhook' }).sort()).toEqual(['burst', ...names]);
      await loop.idle();
      expect((await metrics.reconcileRounds.get()).values[0]?.value, 'one round for the push').toBe(rounds + 1);
      for (const n of names) expect(await runsOf(metrics, n)).toBe(1);
      for (const c of clusters) for (const n of names) expect((await clients(c).core.readNamespacedConfigMap({ name: n, namespace: 'default' })).data).toEqual({ value: '2' });
    } finally {
      await loop.stop();
    }
  });

  it('a push and a sync now asked before start() run nothing until then, and are queued after the first round', async () => {
    const metrics = new ServeMetrics({ processMetrics: false });
    const loop = newLoop(metrics);
    try {
      const sha = await repo.commit({ 'app/cm.yaml': cm('before-start') });
      expect(loop.trigger({ source: 'repo', revision: sha, reason: 'webhook' })).toEqual(['burst']);
      expect(loop.queueApp('burst', 'ui'), 'the dashboard is told it is queued').toBe(true);
      // idle() waits for anything queued: a job of the push would have run by now.
      await loop.idle();
      expect(await runsOf(metrics, 'burst'), 'nothing runs before start (sources not fetched, placements not loaded)').toBe(0);
      expect(loop.readiness().ready).toBe(false);
      await loop.start();
      await loop.idle();
      expect(await valuesOnClusters()).toEqual(clusters.map(() => 'before-start'));
      expect(await runsOf(metrics, 'burst'), 'the push and the sync now, one job after the first (whole-stack) round').toBe(1);
      expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['app'] === 'burst' && l['msg'] === 'reconciling (webhook, ui)')).toHaveLength(1);
    } finally {
      await loop.stop();
    }
  });
});
