import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KubeClient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { deleteIfPresent } from '../harness/kube-admin.ts';
import { ownershipOverlaps, reconcileOverlaps, Replica, type ReplicaEvent, type ReplicaOptions } from '../harness/lease-replicas.ts';
import { readObject } from '../harness/reconcile-helpers.ts';
import { kubeconfigThrough, serverOf, TcpProxy } from '../harness/tcp-proxy.ts';

/**
 * Replicas as real processes split 12 apps with shard Leases on a management cluster (the
 * first test cluster) and apply them to a target cluster (the second). Short lease timings
 * keep the test quick; the rules are the same as with the defaults.
 */

const TIMING = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 };
const APPS = Array.from({ length: 12 }, (_, i) => `lease-app-${String(i).padStart(2, '0')}`);
const NS = 'leases-test';
const SHARDS = 16;

let management: TestCluster;
let target: TestCluster;
let repo: GitFixture;
let work: string;
let replicas: Replica[] = [];
let events: ReplicaEvent[] = [];
let testIndex = 0;

function manifests(rev: string): Record<string, string> {
  return Object.fromEntries(APPS.map((a) => [`apps/${a}/cm.yaml`, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: a }, data: { rev } })]));
}

async function writeStack(file: string, targetKubeconfig: string): Promise<string> {
  const stack = {
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'lease-shards' },
    clusters: [{ name: target.name, kubeconfig: targetKubeconfig }],
    gitops: {
      sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' } }],
      apps: APPS.map((a) => ({ name: a, source: 'repo', path: `apps/${a}`, namespace: NS, createNamespace: true, timeout: '30s', targets: { clusters: [target.name] } })),
    },
  };
  await writeFile(file, stringify(stack));
  return file;
}

function options(identity: string, namespace: string, extra: Partial<ReplicaOptions> = {}): ReplicaOptions {
  return { identity, managementKubeconfig: management.kubeconfig, namespace, stackFile: join(work, 'stack.yaml'), cacheRoot: join(work, `cache-${identity}`), pollMs: 300, ...TIMING, ...extra };
}

/** A fresh Lease namespace per test, so no test sees another's Leases. */
async function leaseNamespace(): Promise<string> {
  const name = `infra-leases-${++testIndex}-${process.pid}`;
  const client = new KubeClient(management.name, management.kubeconfig);
  try {
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  } finally {
    client.close();
  }
  return name;
}

function start(o: ReplicaOptions): Replica {
  const r = new Replica(o, events);
  replicas.push(r);
  return r;
}

/** Waits until the live replicas hold all 16 shards between them, none above the fair share. */
async function balanced(live: readonly Replica[]): Promise<void> {
  const share = Math.ceil(SHARDS / live.length);
  const ok = await waitFor(
    async () => {
      const held = live.map((r) => r.held());
      const total = held.reduce((n, h) => n + h.size, 0);
      return total === SHARDS && held.every((h) => h.size <= share) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  expect(ok, `shards held: ${live.map((r) => `${r.identity}=${[...r.held()].join(',')}`).join(' ')}`).toBe(true);
}

async function revOnTarget(app: string): Promise<string | undefined> {
  const cm = (await readObject(target, 'v1', 'ConfigMap', app, NS)) as { data?: { rev?: string } } | undefined;
  return cm?.data?.rev;
}

async function allAt(rev: string, apps: readonly string[], timeoutMs: number): Promise<number | undefined> {
  return waitFor(async () => ((await Promise.all(apps.map(revOnTarget))).every((r) => r === rev) ? Date.now() : undefined), { timeoutMs, intervalMs: 100 });
}

/** Server-side apply writes (not dry-runs) of ConfigMaps the target's apiserver has served, from its own /metrics. */
async function configMapApplies(): Promise<number> {
  const client = new KubeClient(target.name, target.kubeconfig);
  try {
    const text = await client.request<string>('GET', '/metrics', { text: true });
    let n = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{') || !line.includes('verb="APPLY"') || !line.includes('resource="configmaps"') || !line.includes('dry_run=""')) continue;
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return n;
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  [management, target] = testClusters() as [TestCluster, TestCluster];
  work = await mkdtemp(join(tmpdir(), 'infra-leases-'));
  repo = await GitFixture.create();
  await repo.commit(manifests('1'));
  await writeStack(join(work, 'stack.yaml'), target.kubeconfig);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') for (const e of events.filter((x) => x.event !== 'begin' && !(x.event === 'end' && String(x['result']).includes(':Synced:'))).slice(-60)) process.stderr.write(`${JSON.stringify(e)}\n`);
  for (const r of replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.kill();
  await Promise.all(replicas.map((r) => r.exited));
  replicas = [];
  events = [];
});

afterAll(async () => {
  for (const a of APPS) await deleteIfPresent(target, `/api/v1/namespaces/${NS}/configmaps/${a}`);
  await repo?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('replicas sharded by Leases', () => {
  it('three replicas split the shards; one SIGKILLed mid-reconcile has its apps reconciled by the others within the lease duration, never two at once', async () => {
    const ns = await leaseNamespace();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => start(options(`replica-${id}`, ns))) as [Replica, Replica, Replica];
    await Promise.all([a.ready(), b.ready(), c.ready()]);
    await balanced([a, b, c]);
    expect(await allAt('1', APPS, 60_000)).toBeDefined();

    // The metrics agree with the Leases: every shard owned by exactly one replica.
    const gauges = await Promise.all([a, b, c].map((r) => r.metrics()));
    for (let s = 0; s < SHARDS; s++) expect(gauges.reduce((n, g) => n + (g.get(s) ?? 0), 0), `shard ${s}`).toBe(1);

    const writesBefore = await configMapApplies();
    const changedAt = Date.now();
    await repo.commit(manifests('2'));
    // Kill the replica with the most shards as soon as it begins a reconcile of the new commit.
    const victim = [a, b, c].sort((x, y) => y.held().size - x.held().size)[0] as Replica;
    const begun = await waitFor(async () => (victim.mine('begin').some((e) => e.t > changedAt) ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    expect(begun).toBe(true);
    const victimShards = victim.held();
    const inFlight = APPS.filter((app) => victim.mine('begin').filter((e) => e.app === app).length > victim.mine('end').filter((e) => e.app === app).length).length;
    victim.kill();
    const killedAt = victim.killedAt ?? 0;
    process.stderr.write(`killed ${victim.identity} at ${killedAt}\n`);
    const survivors = [a, b, c].filter((r) => r !== victim);

    await balanced(survivors);
    const takeover = survivors.flatMap((r) => r.mine('acquired')).filter((e) => e.t > killedAt && victimShards.has(e.shard ?? -1));
    expect(new Set(takeover.map((e) => e.shard))).toEqual(victimShards);
    const lastTaken = Math.max(...takeover.map((e) => e.t));
    // Within the lease duration of the victim's last renewal (before the kill), plus one round trip to the management cluster.
    expect(lastTaken - killedAt).toBeLessThanOrEqual(TIMING.leaseDurationMs + TIMING.retryPeriodMs);

    const converged = await allAt('2', APPS, 60_000);
    expect(converged).toBeDefined();
    const end = Date.now();
    expect(ownershipOverlaps([a, b, c], events, end)).toEqual([]);
    expect(reconcileOverlaps([a, b, c], events, end)).toEqual([]);

    // The apiserver's own count: one apply per app for its ConfigMap, one for its record; at
    // most the same again for the apps the victim had in flight when it died. Two replicas
    // applying the same apps would show as extra writes.
    const writes = (await configMapApplies()) - writesBefore;
    expect(writes).toBeGreaterThanOrEqual(APPS.length * 2);
    expect(writes).toBeLessThanOrEqual(APPS.length * 2 + 2 * inFlight);
    // One field manager on each object: no replica applied under another name.
    for (const app of APPS) {
      const cm = (await readObject(target, 'v1', 'ConfigMap', app, NS)) as { metadata: { managedFields?: { manager: string }[] } };
      expect(cm.metadata.managedFields?.map((m) => m.manager)).toEqual(['infra']);
    }
  });
});
