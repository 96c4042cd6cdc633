import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { serveLeases, type ServeLeases } from '../../cli/commands/serve-leases.ts';
import { KubeClient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { shardOf } from '../../reconciler/leases/shards.ts';
import { ServeLog } from '../../reconciler/serve/log.ts';
import { ServeMetrics } from '../../reconciler/serve/metrics.ts';
import { ServeLoop } from '../../reconciler/serve/serve-loop.ts';
import { loadStackFile } from '../../stacks/load.ts';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { deleteIfPresent, createNamespace } from '../harness/kube-admin.ts';
import { Replica } from '../harness/lease-replicas.ts';
import { readObject } from '../harness/reconcile-helpers.ts';
import { kubeconfigThrough, serverOf, TcpProxy } from '../harness/tcp-proxy.ts';
import { TriggerBoard, triggerName, type SharedTrigger } from '../../reconciler/leases/trigger-board.ts';

/**
 * `infra serve` replicas sharing a management cluster (the first test cluster): a push that
 * reaches one replica reaches the apps of every shard (shared through a trigger Lease the others
 * watch), and apps removed from the stack are pruned by the replica holding their shard, once
 * per cluster. Polls are 10 minutes apart in the first test, so only the fan-out can explain a
 * reconcile of every app within seconds.
 */

const TIMING = { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '1s' };
const SHARDS = 16;
const NS = 'fanout-test';
const APPS = Array.from({ length: 12 }, (_, i) => `fan-app-${String(i).padStart(2, '0')}`);

let management: TestCluster;
let targets: TestCluster[];
let repo: GitFixture;
let work: string;
let replicas: Replica[] = [];
let inProcess: { loop: ServeLoop; leases: ServeLeases; lines: string[] } | undefined;
let testIndex = 0;
/** One app name per shard: whether the in-process replica owns it says whether it holds that shard. */
const PROBES = Array.from({ length: SHARDS }, (_, s) => {
  for (let i = 0; ; i++) if (shardOf(`probe-${i}`, SHARDS) === s) return `probe-${i}`;
});

function manifests(apps: readonly string[], rev: string): Record<string, string> {
  return Object.fromEntries(apps.map((a) => [`apps/${a}/cm.yaml`, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: a }, data: { rev } })]));
}

function stackOf(apps: readonly string[], on: readonly TestCluster[], interval: string): string {
  return stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'fanout' },
    clusters: on.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
    gitops: {
      sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' }, interval, driftInterval: '10m' }],
      apps: apps.map((a) => ({ name: a, source: 'repo', path: `apps/${a}`, namespace: NS, createNamespace: true, timeout: '30s', targets: { clusters: on.map((c) => c.name) } })),
    },
  });
}

/** A fresh Lease namespace per test, so no test sees another's Leases. */
const leaseNamespace = () => createNamespace(management, `infra-fanout-${++testIndex}-${process.pid}`);

function start(identity: string, namespace: string, stackFile: string, apps: readonly string[], extraArgs: string[] = []): Replica {
  const r = new Replica({ identity, namespace, stackFile, managementKubeconfig: management.kubeconfig, timing: TIMING, cacheDir: join(work, `cache-${identity}-${testIndex}`), apps, extraArgs });
  replicas.push(r);
  return r;
}

async function revOn(cluster: TestCluster, app: string): Promise<string | undefined> {
  const cm = (await readObject(cluster, 'v1', 'ConfigMap', app, NS)) as { data?: { rev?: string } } | undefined;
  return cm?.data?.rev;
}

async function allAt(on: readonly TestCluster[], apps: readonly string[], rev: string | undefined, timeoutMs = 60_000): Promise<number | undefined> {
  return waitFor(async () => ((await Promise.all(on.flatMap((c) => apps.map((a) => revOn(c, a))))).every((r) => r === rev) ? Date.now() : undefined), { timeoutMs, intervalMs: 100 });
}

/** Shards held by each replica (its own log) sum to all 16 and none holds them all. */
async function split(live: readonly Replica[], extra: () => number = () => 0): Promise<void> {
  const ok = await waitFor(async () => {
    const held = live.map((r) => r.held().size);
    return held.reduce((n, h) => n + h, 0) + extra() === SHARDS && held.every((h) => h > 0 && h < SHARDS) ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  expect(ok, `shards held: ${live.map((r) => `${r.identity}=${[...r.held()].join(',')}`).join(' ')}`).toBe(true);
}

beforeAll(async () => {
  const all = testClusters();
  expect(all.length, 'these tests need 3 clusters (management + 2 targets)').toBeGreaterThanOrEqual(3);
  management = all[0] as TestCluster;
  targets = all.slice(1, 3);
  work = await mkdtemp(join(tmpdir(), 'infra-fanout-'));
  repo = await GitFixture.create();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') {
    for (const r of replicas) process.stderr.write(`--- ${r.identity}\n${r.serve.raw.split('\n').slice(-40).join('\n')}\n`);
    if (inProcess) process.stderr.write(`--- in-process\n${inProcess.lines.slice(-40).join('')}\n`);
  }
  if (inProcess) {
    await inProcess.loop.stop();
    inProcess.leases.close();
    inProcess = undefined;
  }
  for (const r of replicas) if (r.alive()) r.kill();
  await Promise.all(replicas.map((r) => r.serve.exited));
  replicas = [];
});

afterAll(async () => {
  for (const c of targets ?? []) for (const a of APPS) await deleteIfPresent(c, `/api/v1/namespaces/${NS}/configmaps/${a}`);
  await repo?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('infra serve replicas: push fan-out and removal per shard', () => {
  it('a push delivered to one of three replicas gets the apps of every shard reconciled long before the 10-minute poll', async () => {
    const target = targets[0] as TestCluster;
    await repo.commit(manifests(APPS, 'f1'));
    const stackFile = join(work, 'fanout-stack.yaml');
    await writeFile(stackFile, stackOf(APPS, [target], '10m'));
    const ns = await leaseNamespace();
    const a = start('replica-a', ns, stackFile, APPS);
    const b = start('replica-b', ns, stackFile, APPS);

    // The third replica runs in this process: the push reaches it through ServeLoop.trigger,
    // the path a webhook or post-receive notification takes on the replica the Service picked.
    const lines: string[] = [];
    const log = new ServeLog('json', (l) => lines.push(l));
    const metrics = new ServeMetrics({ processMetrics: false });
    const opts = { managementKubeconfig: management.kubeconfig, leaseNamespace: ns, shards: SHARDS, leaseDuration: 4_000, renewDeadline: 3_000, retryPeriod: 1_000, identity: 'replica-c' };
    const stack = await loadStackFile(stackFile);
    const leases = serveLeases(opts, metrics, log, () => loop.stack.gitops.apps.map((x) => x.name)) as ServeLeases;
    const loop: ServeLoop = new ServeLoop({ stack, cacheRoot: join(work, 'cache-c'), metrics, log, ownership: leases.ownership, relay: (t) => leases.relay(t) });
    inProcess = { loop, leases, lines };
    await leases.start();
    await leases.watchTriggers((t) => loop.watches(t.source) && loop.trigger(t));
    await loop.start();
    const cHeld = () => APPS.filter((app) => leases.ownership.owns(app)).length;

    await Promise.all([a, b].map((r) => r.serve.url()));
    // Every replica holds part of the shards (so no replica alone covers all apps).
    await split([a, b], () => PROBES.filter((probe) => leases.ownership.owns(probe)).length);
    expect(await allAt([target], APPS, 'f1')).toBeDefined();
    expect(cHeld()).toBeGreaterThan(0);
    expect(cHeld()).toBeLessThan(APPS.length);

    const sha = await repo.commit(manifests(APPS, 'f2'));
    const pushedAt = Date.now();
    const queued = loop.trigger({ source: 'repo', revision: sha, reason: 'webhook' });
    expect(queued).toHaveLength(APPS.length);
    const doneAt = await allAt([target], APPS, 'f2', 60_000);
    expect(doneAt, 'every app at the pushed commit (the poll is 10 minutes away)').toBeDefined();
    process.stderr.write(`[fanout] push to replica-c → all ${APPS.length} apps of 3 replicas at the new commit in ${(doneAt as number) - pushedAt} ms (poll interval 10 min)\n`);
    // The other two replicas reconciled because replica-c shared the push.
    for (const r of [a, b]) {
      const shared = r.serve.lines.find((l) => String(l['msg']) === 'push shared by replica-c' && l['revision'] === sha);
      expect(shared, `${r.identity} saw the shared push`).toBeDefined();
      expect(r.serve.lines.some((l) => String(l['msg']).startsWith('reconciling (shared by replica-c'))).toBe(true);
    }
    // Logged when replica-c's Lease write returns, which can be after the others saw it: awaited.
    expect(await waitFor(async () => (lines.some((l) => l.includes('"msg":"push shared with the replicas"')) ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 })).toBe(true);
  });

  it('apps removed from the stack (a push of the stack file) are pruned on every cluster by the replica holding their shard, once per cluster', async () => {
    const keep = APPS.slice(0, 6);
    const gone = APPS.slice(6);
    await repo.commit({ ...manifests(APPS, 'r1'), 'stacks/fanout.yaml': stackOf(APPS, targets, '1s') });
    const bootstrap = join(work, 'bootstrap.yaml');
    await writeFile(bootstrap, stackOf([], targets, '1s'));
    const ns = await leaseNamespace();
    const args = ['--stack-from', 'repo:stacks/fanout.yaml'];
    const a = start('replica-a', ns, bootstrap, APPS, args);
    const b = start('replica-b', ns, bootstrap, APPS, args);
    await split([a, b]);
    expect(await allAt(targets, APPS, 'r1')).toBeDefined();

    // The stack file drops six apps (their manifests stay in Git: only the stack decides).
    const removedAt = Date.now();
    await repo.commit({ 'stacks/fanout.yaml': stackOf(keep, targets, '1s') });
    expect(await allAt(targets, gone, undefined, 90_000), 'departed apps pruned on both targets').toBeDefined();
    expect(await allAt(targets, keep, 'r1'), 'the others untouched').toBeDefined();
    process.stderr.write(`[fanout] ${gone.length} departed apps pruned on ${targets.length} clusters by 2 replicas in ${Date.now() - removedAt} ms\n`);

    // Exactly one prune per departed app and cluster, by the replica that held the app's shard. A
    // prune's line is written after its deletes, so the objects can be gone before the last line:
    // wait for as many lines as expected, then check there are no more and who wrote them.
    const expected = gone.flatMap((app) => targets.map((c) => `${app}@${c.name}`)).sort();
    const prunedLines = () => [a, b].flatMap((r) => r.serve.lines.filter((l) => l['msg'] === 'pruned: the app left the stack').map((l) => ({ by: r, app: String(l['app']), cluster: String(l['cluster']) })));
    await waitFor(async () => (prunedLines().length >= expected.length ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 });
    const pruned = prunedLines();
    const keys = pruned.map((p) => `${p.app}@${p.cluster}`).sort();
    expect(keys).toEqual(expected);
    for (const p of pruned) expect(p.by.held().has(shardOf(p.app, SHARDS)), `${p.app} pruned by ${p.by.identity}, holder of its shard`).toBe(true);
    expect(a.held().size + b.held().size).toBe(SHARDS);
    expect(a.held().size).toBeLessThan(SHARDS);
  });

  it('the trigger watch: others\' pushes only, newest wins, and a broken connection resumes without losing or repeating a push', async () => {
    const ns = await leaseNamespace();
    const proxy = await TcpProxy.start(serverOf(management.kubeconfig));
    const direct = new KubeClient(management.name, management.kubeconfig);
    const proxied = new KubeClient(management.name, kubeconfigThrough(management.kubeconfig, proxy, join(work, 'management-proxied.kubeconfig')));
    const stop = new AbortController();
    const warnings: string[] = [];
    const seen: SharedTrigger[] = [];
    try {
      const a = new TriggerBoard(direct, ns, 'replica-a');
      const b = new TriggerBoard(proxied, ns, 'replica-b', (level, msg) => void warnings.push(`${level}: ${msg}`));
      // A push recorded before b watches is not replayed (b's first round covers it).
      await a.publish({ source: 'repo', revision: '0'.repeat(40) });
      let watching: Promise<void> | undefined;
      await new Promise<void>((ready) => (watching = b.watch((t) => seen.push(t), stop.signal, ready)));
      const at = Date.now();
      await a.publish({ source: 'repo', revision: '1'.repeat(40), at });
      await b.publish({ source: 'repo', revision: '2'.repeat(40), at: at + 1 });
      expect(await waitFor(async () => (seen.length >= 1 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 })).toBe(true);
      // An older push does not replace the newer one.
      await a.publish({ source: 'repo', revision: '9'.repeat(40), at: at - 60_000 });
      const lease = await direct.request<{ metadata: { annotations: Record<string, string> } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${triggerName('repo')}`);
      expect(lease.metadata.annotations['infra.dev/revision']).toBe('2'.repeat(40));

      // The connection breaks; a push lands meanwhile; the watch resumes from its resourceVersion.
      expect(proxy.reset()).toBeGreaterThan(0);
      await a.publish({ source: 'repo', revision: '3'.repeat(40) });
      await a.publish({ source: 'other', revision: '4'.repeat(40) });
      expect(await waitFor(async () => (seen.length >= 3 ? true : undefined), { timeoutMs: 15_000, intervalMs: 20 })).toBe(true);
      expect(warnings.some((w) => w.startsWith('warn: trigger watch failed'))).toBe(true);
      // Resumed from the resourceVersion it had (a relist happens only after 410 Gone, and says so).
      expect(warnings.filter((w) => w.includes('listing again'))).toEqual([]);
      expect(seen.map((t) => `${t.source}@${t.revision?.[0]} by ${t.by}`)).toEqual(['repo@1 by replica-a', 'repo@3 by replica-a', 'other@4 by replica-a']);
      stop.abort();
      await watching;
    } finally {
      stop.abort();
      direct.close();
      proxied.close();
      await proxy.close();
    }
  });
});
