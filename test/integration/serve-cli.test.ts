import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../clusters/wait.ts';
import { clients, testClusters } from '../harness/environment.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { ServeProcess } from '../harness/serve-process.ts';

/**
 * `infra serve` as a user runs it: the stack itself in Git, polling every second, three
 * clusters; probes and metrics over HTTP; a broken stack keeps the old one; SIGTERM mid-reconcile.
 */

const clusters = testClusters();
const TOKEN = 'metrics-token-4f1d9a7c';
let repo: GitFixture;
let dir: string;
let serve: ServeProcess;
let base: string;

const cm = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: served\n  namespace: default\ndata:\n  value: "${value}"\n  greeting: "\${var.greeting}"\n`;
const deployment = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: served\n  namespace: default\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: served}}\n  template:\n    metadata: {labels: {app: served}}\n    spec:\n      containers: [{name: main, image: registry.invalid/served:1}]\n`;

function stackYaml(greeting: string, apps = true): string {
  return stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'serve-cli' },
    clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
    gitops: {
      sources: [{ name: 'repo', url: repo.dir, interval: '1s' }],
      apps: apps ? [{ name: 'served', source: 'repo', path: 'app', timeout: '60s', variables: { greeting }, targets: { clusters: clusters.map((c) => c.name) } }] : [],
    },
  });
}

async function onClusters(field: string): Promise<(string | undefined)[]> {
  return Promise.all(
    clusters.map(async (c) => {
      try {
        return (await clients(c).core.readNamespacedConfigMap({ name: 'served', namespace: 'default' })).data?.[field];
      } catch {
        return undefined;
      }
    }),
  );
}

async function everywhere(field: string, value: string, timeoutMs = 60_000): Promise<boolean> {
  return (await waitFor(async () => ((await onClusters(field)).every((v) => v === value) ? true : undefined), { timeoutMs, intervalMs: 100 })) === true;
}

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  repo = await GitFixture.create();
  dir = await mkdtemp(join(tmpdir(), 'infra-serve-cli-'));
  await repo.commit({ 'app/cm.yaml': cm('one'), 'stacks/serve.yaml': stackYaml('hello') });
  // The bootstrap stack only names the clusters and the source that holds the real stack.
  await writeFile(join(dir, 'bootstrap.yaml'), stackYaml('unused', false));
  await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  await chmod(join(dir, 'token'), 0o600);
  serve = ServeProcess.start(['-f', join(dir, 'bootstrap.yaml'), '--stack-from', 'repo:stacks/serve.yaml', '--metrics-token-file', join(dir, 'token')]);
  base = await serve.url();
});
afterAll(async () => {
  await serve?.stop('SIGKILL');
  await repo.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('infra serve', () => {
  it('answers /healthz at once, /readyz after the first round, /metrics only with the token', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    const ready = await waitFor(async () => ((await get('/readyz')).status === 200 ? true : undefined), { timeoutMs: 90_000 });
    expect(ready, serve.raw).toBe(true);
    expect(await everywhere('value', 'one')).toBe(true);
    expect(await onClusters('greeting'), 'the stack came from Git').toEqual(clusters.map(() => 'hello'));

    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', { Authorization: 'Bearer wrong-token-xxxxxxx' })).status).toBe(401);
    const metrics = await get('/metrics', { Authorization: `Bearer ${TOKEN}` });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('infra_reconcile_runs_total{app="(stack)"} 1');
    expect(metrics.body).toMatch(/infra_app_last_applied_revision_info\{app="served",cluster="test-1",revision="[0-9a-f]{40}"\} 1/);
    expect(metrics.body).toContain('infra_queue_depth 0');
    expect(metrics.body).toContain('# TYPE infra_reconcile_duration_seconds histogram');
    expect((await get('/webhooks/github/repo')).status, 'no receiver mounted yet').toBe(404);
    expect(serve.raw).not.toContain(TOKEN);
  });

  it('picks up a push by polling and applies it on all three clusters', async () => {
    const sha = await repo.commit({ 'app/cm.yaml': cm('two') });
    expect(await everywhere('value', 'two'), serve.raw).toBe(true);
    // The status line of each cluster comes after the round recorded it, which is after the object is visible: awaited, not read at once.
    const synced = (l: Record<string, unknown>) => l['app'] === 'served' && l['revision'] === sha && String(l['msg']).startsWith('Synced');
    const applied = await Promise.all(clusters.map((c) => serve.waitForLog((l) => synced(l) && l['cluster'] === c.name)));
    expect(serve.lines.filter(synced).map((l) => l['cluster']).sort()).toEqual(clusters.map((c) => c.name).sort());
    expect(typeof applied[0]?.['durationMs']).toBe('number');
  });

  it('a push that changes the stack reloads it; a broken stack is reported and the old one keeps running', async () => {
    await repo.commit({ 'stacks/serve.yaml': stackYaml('bonjour') });
    expect(await everywhere('greeting', 'bonjour'), serve.raw).toBe(true);

    const broken = await repo.commit({ 'stacks/serve.yaml': stackYaml('hallo').replace('kind: Stack', 'kind: Stack\nbogus: 1') });
    const report = await serve.waitForLog((l) => l['level'] === 'error' && String(l['msg']).includes('is broken; still serving the previous one') && String(l['msg']).includes('bogus'));
    expect(report['source']).toBe('repo');
    expect(await onClusters('greeting')).toEqual(clusters.map(() => 'bonjour'));
    // The old stack still serves pushes.
    await repo.commit({ 'app/cm.yaml': cm('three') });
    expect(await everywhere('value', 'three'), serve.raw).toBe(true);
    expect(await onClusters('greeting'), `the broken stack of ${broken} changed nothing`).toEqual(clusters.map(() => 'bonjour'));
  });

  it('SIGTERM during a reconcile: it finishes, then the process exits 0', async () => {
    const sha = await repo.commit({ 'app/cm.yaml': cm('final'), 'app/deployment.yaml': deployment });
    const seen = await serve.waitForLog((l) => l['msg'] === 'new commit' && l['revision'] === sha && l['source'] === 'repo');
    const from = serve.lines.indexOf(seen);
    await serve.waitForLog((l) => serve.lines.indexOf(l) > from && l['app'] === 'served' && String(l['msg']).startsWith('reconciling'));
    const code = await serve.stop('SIGTERM');
    expect(code, serve.raw).toBe(0);
    expect(serve.lines.some((l) => l['msg'] === 'stopping: finishing 1 running reconcile(s)'), serve.raw).toBe(true);
    expect(serve.lines.at(-1)?.['msg']).toBe('stopped');
    expect(await onClusters('value'), 'the in-flight reconcile finished').toEqual(clusters.map(() => 'final'));
    const synced = serve.lines.filter((l) => l['revision'] === sha && String(l['msg']).startsWith('Synced'));
    expect(synced).toHaveLength(clusters.length);
  });
});

describe('infra serve stopping while a cluster is unreachable', () => {
  it('SIGTERM ends the wait for the dead cluster at once (not after --retry-for) and exits 0', async () => {
    const [live] = clusters;
    const work = await mkdtemp(join(tmpdir(), 'infra-serve-drain-'));
    const app = await GitFixture.create();
    let proc: ServeProcess | undefined;
    try {
      await app.commit({ 'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: drain\n  namespace: default\ndata:\n  x: "1"\n' });
      // A copy of a real kubeconfig whose server is a port nothing listens on.
      const dead = join(work, 'dead.kubeconfig');
      await writeFile(dead, (await readFile(live!.kubeconfig, 'utf8')).replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:1'));
      await writeFile(
        join(work, 'stack.yaml'),
        stringify({
          apiVersion: 'infra.dev/v1alpha1',
          kind: 'Stack',
          metadata: { name: 'serve-drain' },
          clusters: [{ name: live!.name, kubeconfig: live!.kubeconfig }, { name: 'dead', kubeconfig: dead }],
          gitops: { sources: [{ name: 'repo', url: app.dir }], apps: [{ name: 'drain', source: 'repo', path: 'app', targets: { clusters: [live!.name, 'dead'] } }] },
        }),
      );
      proc = ServeProcess.start(['-f', join(work, 'stack.yaml'), '--retry-for', '10m']);
      await proc.waitForLog((l) => String(l['msg']).includes('drain on dead:') && String(l['msg']).includes('retrying in'));
      const code = await proc.stop('SIGTERM');
      expect(code, proc.raw).toBe(0);
      expect(proc.lines.some((l) => l['level'] === 'warn' && l['cluster'] === 'dead' && String(l['msg']).startsWith('ClusterUnreachable')), proc.raw).toBe(true);
      expect(proc.lines.at(-1)?.['msg'], 'nothing runs on after the stop').toBe('stopped');
      const cm = await clients(live!).core.readNamespacedConfigMap({ name: 'drain', namespace: 'default' });
      expect(cm.data, 'the reachable cluster was synced').toEqual({ x: '1' });
    } finally {
      await proc?.stop('SIGKILL');
      await app.remove();
      await rm(work, { recursive: true, force: true });
    }
  });
});
