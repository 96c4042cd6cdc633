import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthMonitor } from '../../clusters/health/monitor.ts';
import { probeCluster } from '../../clusters/health/probe.ts';
import { DEFAULT_PROBE_INTERVAL_MS, DEFAULT_THRESHOLDS, type HealthState } from '../../clusters/health/types.ts';
import { KubeClient } from '../../clusters/kube-client.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { downLocalCluster, upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { killComponent } from '../../clusters/local/processes.ts';
import { waitFor } from '../../clusters/wait.ts';

/**
 * Cluster health with the defaults (probe every 2 s, 2 failing probes to leave Ready, 2 good ones
 * to return): how long from SIGKILL of an apiserver until the monitor says Unknown, and from the
 * restarted cluster serving until it says Ready again — each next to its floor (thresholds ×
 * interval). Also one probe's cost next to a bare GET /readyz, measured in the same run.
 */

export interface HealthFigures {
  readonly rounds: number;
  readonly detectUnknownMs: { readonly median: number; readonly worst: number; readonly floor: number };
  readonly detectReadyMs: { readonly median: number; readonly worst: number; readonly floor: number };
  readonly probeMs: { readonly median: number; readonly bareReadyzMedian: number; readonly ratio: number };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function benchHealth(rounds = 5): Promise<HealthFigures> {
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-health-'));
  const env = { ...process.env, INFRA_HOME: home };
  const cluster = await upLocalCluster('probed', { nodes: 2, unsafeNoFsync: true, env });
  const client = new KubeClient(cluster.name, cluster.kubeconfig);
  const controller = new AbortController();
  try {
    const probe: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 40; i++) {
      probe.push((await probeCluster(client)).latencyMs);
      const t = performance.now();
      await client.request('GET', '/readyz', { text: true });
      bare.push(performance.now() - t);
    }

    const monitor = new HealthMonitor({ clusters: () => [client], intervalMs: DEFAULT_PROBE_INTERVAL_MS });
    const running = monitor.run(controller.signal);
    const until = (state: HealthState) => waitFor(async () => (monitor.get(cluster.name)?.state === state ? true : undefined), { timeoutMs: 60_000, intervalMs: 20 });
    if (!(await until('Ready'))) throw new Error('bench: the cluster never became Ready');
    const down: number[] = [];
    const up: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const killed = performance.now();
      await killComponent(clusterLayout(cluster.name, env), 'kube-apiserver');
      if (!(await until('Unknown'))) throw new Error('bench: no Unknown after the kill');
      down.push(performance.now() - killed);
      await upLocalCluster(cluster.name, { env });
      const serving = performance.now();
      if (!(await until('Ready'))) throw new Error('bench: no Ready after the restart');
      up.push(performance.now() - serving);
    }
    controller.abort();
    await running;
    const round = (n: number) => Math.round(n);
    return {
      rounds,
      detectUnknownMs: { median: round(median(down)), worst: round(Math.max(...down)), floor: (DEFAULT_THRESHOLDS.failureThreshold - 1) * DEFAULT_PROBE_INTERVAL_MS },
      detectReadyMs: { median: round(median(up)), worst: round(Math.max(...up)), floor: (DEFAULT_THRESHOLDS.successThreshold - 1) * DEFAULT_PROBE_INTERVAL_MS },
      probeMs: { median: median(probe), bareReadyzMedian: Math.round(median(bare) * 10) / 10, ratio: Math.round((median(probe) / median(bare)) * 100) / 100 },
    };
  } finally {
    controller.abort();
    client.close();
    await downLocalCluster(cluster.name, { env, purge: true });
    await rm(home, { recursive: true, force: true });
  }
}
