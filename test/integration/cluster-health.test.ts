import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../clusters/kube-client.ts';
import { KubeApiError } from '../../clusters/errors.ts';
import { waitFor } from '../../clusters/wait.ts';
import { HealthMonitor } from '../../clusters/health/monitor.ts';
import { ConfigMapHealthStore, healthObjectName, HEALTH_NAMESPACE } from '../../clusters/health/health-store.ts';
import { PROBE_LEASE, PROBE_NAMESPACE, probeCluster } from '../../clusters/health/probe.ts';
import type { ClusterHealth, HealthState } from '../../clusters/health/types.ts';
import { CLI_TEST_TIMEOUT_MS, runInfra } from '../harness/cli.ts';
import { killApiserver, restartCluster, stopEtcd, testClusters } from '../harness/environment.ts';

/**
 * Health against real apiservers: probes, the monitor's states when an apiserver dies (no
 * answer → Unknown) or answers but fails (etcd stopped → NotReady), and the clocks kept in the
 * management cluster across a monitor restart. test-1 is the management cluster; test-2 and
 * test-3 are the probed ones and get broken.
 */

const INTERVAL_MS = 1_000;
const [management, victim, sick] = testClusters();
if (!management || !victim || !sick) throw new Error('cluster-health needs 3 test clusters');
const clientsOf = new Map<string, KubeClient>();
const client = (c: { name: string; kubeconfig: string }) => {
  let k = clientsOf.get(c.name);
  if (!k) clientsOf.set(c.name, (k = new KubeClient(c.name, c.kubeconfig)));
  return k;
};

/** A running monitor over test-2 and test-3, its store in test-1, with a record of every change and round. */
function startMonitor() {
  const controller = new AbortController();
  const changes: ClusterHealth[] = [];
  const metrics = new Map<string, HealthState>();
  let rounds = 0;
  const monitor = new HealthMonitor({
    clusters: () => [client(victim!), client(sick!)],
    store: new ConfigMapHealthStore(client(management!)),
    intervalMs: INTERVAL_MS,
    onChange: (_c, h) => changes.push(h),
    onMetric: (c, state) => metrics.set(c, state),
    onRound: (n) => (rounds = n),
    onError: (err) => process.stderr.write(`[health monitor] ${(err as Error).message}\n`),
  });
  const running = monitor.run(controller.signal);
  return {
    monitor,
    changes,
    metrics,
    rounds: () => rounds,
    stop: async () => {
      controller.abort();
      await running;
    },
  };
}

async function until(m: HealthMonitor, cluster: string, state: HealthState, timeoutMs: number): Promise<ClusterHealth | undefined> {
  return waitFor(async () => (m.get(cluster)?.state === state ? m.get(cluster) : undefined), { timeoutMs, intervalMs: 50 });
}

afterAll(async () => {
  await restartCluster(victim);
  await restartCluster(sick);
  for (const k of clientsOf.values()) k.close();
});

describe('probeCluster', () => {
  it('reads /readyz and renews the probe Lease (creating its namespace), measuring latency', async () => {
    const k = client(victim);
    const first = await probeCluster(k, undefined, { identity: 'probe-test', now: () => Date.parse('2026-01-01T00:00:00Z') });
    expect(first).toMatchObject({ ok: true, answered: true });
    expect(first.latencyMs).toBeGreaterThanOrEqual(0);
    const lease = await k.request<{ spec: { holderIdentity: string; renewTime: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${PROBE_NAMESPACE}/leases/${PROBE_LEASE}`);
    expect(lease.spec).toMatchObject({ holderIdentity: 'probe-test', renewTime: '2026-01-01T00:00:00.000000Z' });
    await probeCluster(k, undefined, { identity: 'probe-test', now: () => Date.parse('2026-01-01T00:00:05Z') });
    const renewed = await k.request<{ spec: { renewTime: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${PROBE_NAMESPACE}/leases/${PROBE_LEASE}`);
    expect(renewed.spec.renewTime).toBe('2026-01-01T00:00:05.000000Z');
  });

  it('says "no answer" for a dead apiserver within its timeout', async () => {
    await killApiserver(victim);
    const started = Date.now();
    const r = await probeCluster(client(victim), undefined, { timeoutMs: 2_000 });
    expect(r).toMatchObject({ ok: false, answered: false });
    expect(Date.now() - started).toBeLessThan(2_500);
    await restartCluster(victim);
  });
});

describe('HealthMonitor on real clusters', () => {
  let m: ReturnType<typeof startMonitor>;
  beforeAll(async () => {
    m = startMonitor();
    expect(await until(m.monitor, victim.name, 'Ready', 20_000)).toBeDefined();
    expect(await until(m.monitor, sick.name, 'Ready', 20_000)).toBeDefined();
  });
  afterAll(async () => m.stop());

  it('a killed apiserver → Unknown within ~2 probes; restarted → Ready again', async () => {
    await killApiserver(victim);
    const killedAt = Date.now();
    const roundAtKill = m.rounds();
    const unknown = await until(m.monitor, victim.name, 'Unknown', 15_000);
    expect(unknown).toMatchObject({ state: 'Unknown', reachable: false });
    // failureThreshold 2: two failing probes, plus at most one round that was already in flight.
    expect(m.rounds() - roundAtKill).toBeLessThanOrEqual(3);
    expect(unknown!.unhealthySince).toBeGreaterThanOrEqual(killedAt);
    expect(m.metrics.get(victim.name)).toBe('Unknown');
    expect(m.monitor.get(sick.name)?.state).toBe('Ready');

    await restartCluster(victim);
    const ready = await until(m.monitor, victim.name, 'Ready', 20_000);
    expect(ready).toMatchObject({ state: 'Ready', reachable: true });
    expect(ready!.readySince).toBe(ready!.since);
    expect(ready!.unhealthySince).toBeUndefined();
    // While it starts, the apiserver answers /readyz with 500 (NotReady): that wobble keeps the failure clock.
    const outage = m.changes.filter((h) => h.cluster === victim.name).slice(-10);
    const from = outage.findIndex((h) => h.state === 'Unknown' && h.unhealthySince === unknown!.unhealthySince);
    expect(from).toBeGreaterThanOrEqual(0);
    const stretch = outage.slice(from, -1);
    expect(stretch.every((h) => h.state !== 'Ready' && h.unhealthySince === unknown!.unhealthySince)).toBe(true);
    expect(outage.at(-1)?.state).toBe('Ready');
  });

  it('an apiserver that answers but fails (etcd stopped) → NotReady, reachable', async () => {
    await stopEtcd(sick);
    const notReady = await until(m.monitor, sick.name, 'NotReady', 20_000);
    expect(notReady).toMatchObject({ state: 'NotReady', reachable: true });
    await restartCluster(sick);
    expect(await until(m.monitor, sick.name, 'Ready', 30_000)).toBeDefined();
  });
});

describe('the health store in the management cluster', () => {
  it('keeps the failure clock across a monitor restart', async () => {
    const first = startMonitor();
    expect(await until(first.monitor, victim.name, 'Ready', 20_000)).toBeDefined();
    await killApiserver(victim);
    const down = await until(first.monitor, victim.name, 'Unknown', 15_000);
    expect(down?.unhealthySince).toBeDefined();
    await first.stop();

    const cm = await client(management).request<{ metadata: { annotations: Record<string, string> } }>('GET', `/api/v1/namespaces/${HEALTH_NAMESPACE}/configmaps/${healthObjectName(victim.name)}`);
    expect(cm.metadata.annotations['infra.dev/health-state']).toBe('Unknown');
    expect(Date.parse(cm.metadata.annotations['infra.dev/health-unhealthy-since']!)).toBe(down!.unhealthySince);

    const second = startMonitor();
    try {
      // After its first round the restarted monitor still says Unknown since the same moment.
      await waitFor(async () => (second.rounds() >= 1 ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
      expect(second.monitor.get(victim.name)).toMatchObject({ state: 'Unknown', since: down!.since, unhealthySince: down!.unhealthySince });
    } finally {
      await second.stop();
      await restartCluster(victim);
    }
  });

  it('a management cluster that hangs does not hold detection; the clock is stored once it is back', async () => {
    const m = startMonitor();
    try {
      expect(await until(m.monitor, victim.name, 'Ready', 20_000)).toBeDefined();
      await stopEtcd(management); // its apiserver takes requests and never answers them
      await killApiserver(victim);
      const killedAt = Date.now();
      const down = await until(m.monitor, victim.name, 'Unknown', 15_000);
      expect(down).toBeDefined();
      // Two probes plus store writes that give up after 3 s, not the client's 30 s.
      expect(Date.now() - killedAt).toBeLessThan(12_000);
      await restartCluster(management);
      const path = `/api/v1/namespaces/${HEALTH_NAMESPACE}/configmaps/${healthObjectName(victim.name)}`;
      const stored = await waitFor(
        async () => {
          const cm = await client(management).request<{ metadata: { annotations: Record<string, string> } }>('GET', path);
          return cm.metadata.annotations['infra.dev/health-state'] === 'Unknown' ? cm.metadata.annotations : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      expect(Date.parse(stored!['infra.dev/health-unhealthy-since']!)).toBe(down!.unhealthySince);
    } finally {
      await m.stop();
      await restartCluster(management);
      await restartCluster(victim);
    }
  });

  it('a stale write loses the CAS race and is merged, not overwritten', async () => {
    const store = new ConfigMapHealthStore(client(management));
    const name = 'cas-probe';
    await store.save({ cluster: name, state: 'Unknown', since: 1_000, unhealthySince: 900, reachable: false });
    // A second replica that noticed later writes the same state: the earlier clock stays.
    const merged = await store.save({ cluster: name, state: 'Unknown', since: 5_000, unhealthySince: 5_000, reachable: false });
    expect(merged).toMatchObject({ since: 1_000, unhealthySince: 900 });
    const loaded = await store.load();
    expect(loaded.get(name)).toMatchObject({ state: 'Unknown', since: 1_000, unhealthySince: 900 });
    // A PUT carrying an old resourceVersion is refused by the apiserver (the CAS the store relies on).
    const path = `/api/v1/namespaces/${HEALTH_NAMESPACE}/configmaps/${healthObjectName(name)}`;
    const cm = await client(management).request<{ metadata: { resourceVersion: string } }>('GET', path);
    await store.save({ cluster: name, state: 'Ready', since: 9_000, readySince: 9_000, reachable: true });
    const stale = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: healthObjectName(name), namespace: HEALTH_NAMESPACE, resourceVersion: cm.metadata.resourceVersion } };
    await expect(client(management).request('PUT', path, { body: stale })).rejects.toSatisfy((e) => e instanceof KubeApiError && e.status === 409);

    // Replicas writing at once: the losers re-read and write again; none fails.
    const writers = [1, 2, 3, 4].map(() => new ConfigMapHealthStore(client(management)));
    const saved = await Promise.all(writers.map((w, i) => w.save({ cluster: name, state: 'NotReady', since: 20_000 + i, unhealthySince: 20_000 + i, reachable: true })));
    expect(saved).toHaveLength(4);
    expect((await store.load()).get(name)).toMatchObject({ state: 'NotReady', since: 20_000, unhealthySince: 20_000 });

    // A deployed serve keeps its state in its own namespace (made when missing); the stores do not see each other.
    const own = new ConfigMapHealthStore(client(management), `infra-own-${Date.now()}`);
    await own.save({ cluster: name, state: 'Ready', since: 7, readySince: 7, reachable: true });
    expect((await own.load()).get(name)).toMatchObject({ state: 'Ready', since: 7, readySince: 7 });
    expect((await store.load()).get(name)?.state).toBe('NotReady');
    await client(management).request('DELETE', `/api/v1/namespaces/${own.namespace}`);
  });

  it('infra clusters --management-kubeconfig prints what the store holds', { timeout: CLI_TEST_TIMEOUT_MS }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infra-clusters-cli-'));
    try {
      const stack = ['apiVersion: infra.dev/v1alpha1', 'kind: Stack', 'metadata: {name: health}', 'clusters:', `  - {name: ${sick.name}, kubeconfig: ${sick.kubeconfig}}`, `  - {name: ${victim.name}, kubeconfig: ${victim.kubeconfig}}`, ''];
      await writeFile(join(dir, 'stack.yaml'), stack.join('\n'));
      const stored = await new ConfigMapHealthStore(client(management)).load();
      const r = await runInfra(['clusters', '-f', join(dir, 'stack.yaml'), '--management-kubeconfig', management.kubeconfig, '--json'], { ...process.env, INFRA_HOME: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const rows = JSON.parse(r.stdout) as { cluster: string; state: string; since?: string }[];
      expect(rows.map((row) => row.cluster)).toEqual([victim.name, sick.name].sort());
      for (const row of rows) {
        const h = stored.get(row.cluster);
        expect(h, row.cluster).toBeDefined();
        expect(row).toMatchObject({ state: h!.state, since: new Date(h!.since).toISOString() });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
