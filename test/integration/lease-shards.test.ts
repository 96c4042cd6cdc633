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
import { deleteIfPresent, createNamespace } from '../harness/kube-admin.ts';
import { ownershipOverlaps, reconcileOverlaps, Replica } from '../harness/lease-replicas.ts';
import { readObject } from '../harness/reconcile-helpers.ts';
import { kubeconfigThrough, serverOf, TcpProxy } from '../harness/tcp-proxy.ts';

/**
 * `infra serve` replicas (real processes) split 12 apps with shard Leases on a management
 * cluster (the first test cluster) and apply them to a target cluster (the second). Short
 * lease timings keep the test quick; the rules are those of the defaults (15s / 10s / 2s).
 */

const LEASE_MS = 4_000;
const RENEW_DEADLINE_MS = 3_000;
const RETRY_MS = 1_000;
const TIMING = { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '1s' };
const APPS = Array.from({ length: 12 }, (_, i) => `lease-app-${String(i).padStart(2, '0')}`);
const NS = 'leases-test';
const SHARDS = 16;

let management: TestCluster;
let target: TestCluster;
let repo: GitFixture;
let work: string;
let replicas: Replica[] = [];
let testIndex = 0;

function manifests(rev: string): Record<string, string> {
  return Object.fromEntries(APPS.map((a) => [`apps/${a}/cm.yaml`, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: a }, data: { rev } })]));
}

/** The stack every replica serves; `targetKubeconfig` lets one replica reach the target through a proxy. */
async function writeStack(file: string, targetKubeconfig: string): Promise<string> {
  const stack = {
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'lease-shards' },
    clusters: [{ name: target.name, kubeconfig: targetKubeconfig }],
    gitops: {
      sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' }, interval: '1s', driftInterval: '1s' }],
      apps: APPS.map((a) => ({ name: a, source: 'repo', path: `apps/${a}`, namespace: NS, createNamespace: true, timeout: '30s', targets: { clusters: [target.name] } })),
    },
  };
  await writeFile(file, stringify(stack));
  return file;
}

/** A fresh Lease namespace per test, so no test sees another's Leases. */
const leaseNamespace = () => createNamespace(management, `infra-leases-${++testIndex}-${process.pid}`);

function start(identity: string, namespace: string, extra: { stackFile?: string; managementKubeconfig?: string; extraArgs?: string[] } = {}): Replica {
  const r = new Replica({
    identity,
    namespace,
    stackFile: extra.stackFile ?? join(work, 'stack.yaml'),
    managementKubeconfig: extra.managementKubeconfig ?? management.kubeconfig,
    timing: TIMING,
    cacheDir: join(work, `cache-${identity}`),
    apps: APPS,
    ...(extra.extraArgs ? { extraArgs: extra.extraArgs } : {}),
  });
  replicas.push(r);
  return r;
}

async function ready(r: Replica): Promise<void> {
  await r.serve.url();
  await r.serve.waitForLog((l) => String(l['msg']).startsWith('members: '));
}

/** Waits until the live replicas hold all 16 shards between them, none above the fair share. */
async function balanced(live: readonly Replica[]): Promise<void> {
  const share = Math.ceil(SHARDS / live.length);
  const ok = await waitFor(
    async () => {
      const held = live.map((r) => r.held());
      return held.reduce((n, h) => n + h.size, 0) === SHARDS && held.every((h) => h.size <= share) ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  expect(ok, `shards held: ${live.map((r) => `${r.identity}=${[...r.held()].join(',')}`).join(' ')}`).toBe(true);
}

async function revOnTarget(app: string): Promise<string | undefined> {
  const cm = (await readObject(target, 'v1', 'ConfigMap', app, NS)) as { data?: { rev?: string } } | undefined;
  return cm?.data?.rev;
}

async function allAt(rev: string, timeoutMs = 60_000): Promise<number | undefined> {
  return waitFor(async () => ((await Promise.all(APPS.map(revOnTarget))).every((r) => r === rev) ? Date.now() : undefined), { timeoutMs, intervalMs: 100 });
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

/** Who holds each shard Lease, as the management apiserver says. */
async function holders(namespace: string): Promise<Map<number, string | undefined>> {
  const client = new KubeClient(management.name, management.kubeconfig);
  try {
    const list = await client.request<{ items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`);
    const out = new Map<number, string | undefined>();
    for (const l of list.items) {
      const m = /^infra-shard-(\d+)$/.exec(l.metadata.name);
      if (m) out.set(Number(m[1]), l.spec.holderIdentity || undefined);
    }
    return out;
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
  if (ctx.task.result?.state === 'fail') for (const r of replicas) process.stderr.write(`--- ${r.identity}\n${r.serve.raw.split('\n').slice(-40).join('\n')}\n`);
  for (const r of replicas) if (r.alive()) r.kill();
  await Promise.all(replicas.map((r) => r.serve.exited));
  replicas = [];
});

afterAll(async () => {
  for (const a of APPS) await deleteIfPresent(target, `/api/v1/namespaces/${NS}/configmaps/${a}`);
  await repo?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

let rev = 1;

describe('infra serve replicas sharded by Leases', () => {
  it('three replicas split the shards; one SIGKILLed mid-reconcile has its apps reconciled by the others within the lease duration, never two at once', async () => {
    const ns = await leaseNamespace();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => start(`replica-${id}`, ns)) as [Replica, Replica, Replica];
    await Promise.all([a, b, c].map(ready));
    await balanced([a, b, c]);
    expect(await allAt(String(rev))).toBeDefined();

    // The metrics agree: every shard owned by exactly one replica.
    const gauges = await Promise.all([a, b, c].map((r) => r.metrics()));
    for (let s = 0; s < SHARDS; s++) expect(gauges.reduce((n, g) => n + (g.get(s) ?? 0), 0), `shard ${s}`).toBe(1);

    const writesBefore = await configMapApplies();
    const changedAt = Date.now();
    await repo.commit(manifests(String(++rev)));
    // Kill the replica with the most shards as soon as it begins a reconcile of the new commit.
    const victim = [a, b, c].sort((x, y) => y.held().size - x.held().size)[0] as Replica;
    const begun = await waitFor(async () => (victim.mine('begin').some((e) => e.t >= changedAt) ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 });
    expect(begun).toBe(true);
    victim.kill();
    const killedAt = victim.killedAt ?? 0;
    const victimShards = victim.held();
    const inFlight = APPS.filter((app) => victim.mine('begin').filter((e) => e.app === app).length > victim.mine('end').filter((e) => e.app === app).length).length;
    const survivors = [a, b, c].filter((r) => r !== victim);

    await balanced(survivors);
    const takeover = survivors.flatMap((r) => r.mine('acquired')).filter((e) => e.t > killedAt && victimShards.has(e.shard ?? -1));
    expect(new Set(takeover.map((e) => e.shard))).toEqual(victimShards);
    // Within the lease duration of the victim's last renewal (which came before the kill), plus one retry period for the round trip.
    expect(Math.max(...takeover.map((e) => e.t)) - killedAt).toBeLessThanOrEqual(LEASE_MS + RETRY_MS);
    process.stderr.write(`[leases] SIGKILL: ${victimShards.size} shard(s) taken ${Math.min(...takeover.map((e) => e.t)) - killedAt}–${Math.max(...takeover.map((e) => e.t)) - killedAt} ms after the kill (lease ${LEASE_MS} ms)\n`);

    expect(await allAt(String(rev))).toBeDefined();
    const end = Date.now();
    expect(ownershipOverlaps([a, b, c], end)).toEqual([]);
    expect(reconcileOverlaps([a, b, c], end)).toEqual([]);

    // The apiserver's own count: per app one apply of its ConfigMap and one of its record; at
    // most that again for the apps the victim had in flight. Two replicas applying the same
    // apps would show as more.
    const writes = (await configMapApplies()) - writesBefore;
    expect(writes).toBeGreaterThanOrEqual(APPS.length * 2);
    expect(writes).toBeLessThanOrEqual(APPS.length * 2 + 2 * inFlight);
    for (const app of APPS) {
      const cm = (await readObject(target, 'v1', 'ConfigMap', app, NS)) as { metadata: { managedFields?: { manager: string }[] } };
      expect(cm.metadata.managedFields?.map((m) => m.manager)).toEqual(['infra']);
    }
  });

  it('a replica cut off from the management cluster stops sending to the target before its shards can be taken over', async () => {
    const ns = await leaseNamespace();
    const toManagement = await TcpProxy.start(serverOf(management.kubeconfig));
    const toTarget = await TcpProxy.start(serverOf(target.kubeconfig));
    try {
      const stackA = await writeStack(join(work, 'stack-a.yaml'), kubeconfigThrough(target.kubeconfig, toTarget, join(work, 'target-a.kubeconfig')));
      const a = start('replica-a', ns, { stackFile: stackA, managementKubeconfig: kubeconfigThrough(management.kubeconfig, toManagement, join(work, 'management-a.kubeconfig')) });
      const b = start('replica-b', ns);
      await Promise.all([ready(a), ready(b)]);
      await balanced([a, b]);
      expect(await allAt(String(rev))).toBeDefined();
      // a is busy with its apps (drift re-checks every second) when the link goes down.
      const busy = await waitFor(async () => (toTarget.sent.some((s) => s.t > Date.now() - 500) ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
      expect(busy).toBe(true);
      const aShards = a.held();
      const cutAt = toManagement.cut();

      await balanced([b]);
      const takeover = b.mine('acquired').filter((e) => e.t > cutAt && aShards.has(e.shard ?? -1));
      expect(new Set(takeover.map((e) => e.shard))).toEqual(aShards);
      const firstTakeover = Math.min(...takeover.map((e) => e.t));
      const lost = a.mine('lost').filter((e) => e.t > cutAt);
      expect(new Set(lost.map((e) => e.shard))).toEqual(aShards);
      const lastStop = Math.max(...lost.map((e) => e.t));
      // a stopped within the renew deadline of its last renewal (before the cut)...
      expect(lastStop - cutAt).toBeLessThanOrEqual(RENEW_DEADLINE_MS + RETRY_MS / 2); // timer lag on a busy machine
      // ...and the last byte it sent the target came before b could take any of its shards.
      const lastSent = Math.max(...toTarget.sent.map((s) => s.t));
      expect(lastSent).toBeLessThan(firstTakeover);
      process.stderr.write(`[leases] cut: stopped ${lastStop - cutAt} ms after the cut (${[...new Set(lost.map((e) => e.msg.replace(/^shard \d+: /, '')))].join('; ')}), last byte to the target at ${lastSent - cutAt} ms, first takeover at ${firstTakeover - cutAt} ms\n`);
      expect(ownershipOverlaps([a, b], Date.now())).toEqual([]);
      expect(reconcileOverlaps([a, b], Date.now())).toEqual([]);

      // b now serves every app: a push reaches all of them.
      await repo.commit(manifests(String(++rev)));
      expect(await allAt(String(rev))).toBeDefined();
      // ...and a never sent anything again.
      expect(toTarget.sent.filter((s) => s.t >= firstTakeover)).toEqual([]);
    } finally {
      await toManagement.close();
      await toTarget.close();
    }
  });

  it('SIGTERM during a reconcile: it finishes, the leases are released, exit 0, and the other replica takes over at once', async () => {
    const ns = await leaseNamespace();
    const a = start('replica-a', ns);
    const b = start('replica-b', ns);
    await Promise.all([ready(a), ready(b)]);
    await balanced([a, b]);
    expect(await allAt(String(rev))).toBeDefined();
    const changedAt = Date.now();
    await repo.commit(manifests(String(++rev)));
    expect(await waitFor(async () => (a.mine('begin').some((e) => e.t >= changedAt) ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 })).toBe(true);
    const aShards = a.held();
    const termAt = Date.now();
    a.serve.child.kill('SIGTERM');
    expect(await a.serve.exited).toBe(0);
    const exitedAt = Date.now();

    // Every reconcile a began has its end; its Leases name no holder any more.
    expect(reconcileOverlaps([a, b], exitedAt)).toEqual([]);
    const begins = a.mine('begin').length;
    expect(a.mine('end').length).toBeGreaterThanOrEqual(begins);
    await balanced([b]);
    const takeover = b.mine('acquired').filter((e) => e.t > termAt && aShards.has(e.shard ?? -1));
    expect(new Set(takeover.map((e) => e.shard))).toEqual(aShards);
    // At once: by b's next round (one retry period, plus the round itself). Had a not released
    // them, they would have moved only a lease duration after a's last renewal, at least
    // LEASE − RETRY = 3s after the exit.
    expect(Math.max(...takeover.map((e) => e.t)) - exitedAt).toBeLessThanOrEqual(2 * RETRY_MS);
    process.stderr.write(`[leases] SIGTERM: exit ${exitedAt - termAt} ms after the signal, ${aShards.size} shard(s) taken ${Math.max(...takeover.map((e) => e.t)) - exitedAt} ms after the exit\n`);
    const now = await holders(ns);
    for (const s of aShards) expect(now.get(s)).toBe('replica-b');
    expect(await allAt(String(rev))).toBeDefined();
    expect(ownershipOverlaps([a, b], Date.now())).toEqual([]);
  });

  it('a replica started with another shard count takes nothing (the same app would map to two Leases)', async () => {
    const ns = await leaseNamespace();
    const a = start('replica-a', ns);
    await ready(a);
    await balanced([a]);
    const b = start('replica-b', ns, { extraArgs: ['--shards', '8'] });
    await b.serve.url();
    const refused = await b.serve.waitForLog((l) => l['level'] === 'error' && /uses 16 shards, this one 8/.test(String(l['msg'])));
    expect(String(refused['msg'])).toMatch(/same --shards/);
    // Several rounds later: b holds nothing, a still holds all 16 and was never asked to share.
    const later = Date.parse(String(refused['time'])) + 3 * RETRY_MS;
    await waitFor(async () => (Date.now() > later ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    expect(b.mine('acquired')).toEqual([]);
    expect(a.held().size).toBe(SHARDS);
    expect(a.mine('lost')).toEqual([]);
    expect([...(await holders(ns)).values()].every((h) => h === 'replica-a')).toBe(true);
  });
});
