import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { downLocalCluster, upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { controlPlane, type ComponentName } from '../../clusters/local/control-plane.ts';
import { readState } from '../../clusters/local/cluster-files.ts';
import { runningProcess, startProcess } from '../../clusters/local/processes.ts';
import { waitApiserverReady, waitEtcdHealthy } from '../../clusters/local/readiness.ts';
import { resolveBinaries } from '../../clusters/tools/resolver.ts';
import { BINARY_NAMES } from '../../clusters/tools/versions.ts';

/**
 * `infra local up` timings and memory. The baseline, measured in the same run, is the floor
 * any tool pays: etcd and kube-apiserver started bare (same flags and certificates, empty
 * data dir) until /readyz answers.
 */

export interface LocalClusterFigures {
  readonly upOneSeconds: number;
  readonly bareEtcdApiserverSeconds: number;
  readonly upOneOverBare: number;
  readonly upThreeSeconds: number;
  readonly upThreeOverUpOne: number;
  readonly rssMiBPerCluster: number;
  readonly rssMiBByComponent: Readonly<Record<ComponentName, number>>;
}

const seconds = (ms: number) => Math.round(ms / 10) / 100;

export async function benchLocalClusters(): Promise<LocalClusterFigures> {
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-'));
  const env = { ...process.env, INFRA_HOME: home };
  const binaries = await resolveBinaries(BINARY_NAMES, { env, progress: (l) => process.stderr.write(`${l}\n`) });
  try {
    let t = performance.now();
    await upLocalCluster('one', { nodes: 2, env });
    const upOne = performance.now() - t;

    // Baseline: bare etcd + apiserver on an empty data dir (a first start, like the one above).
    await downLocalCluster('one', { env });
    const layout = clusterLayout('one', env);
    await rm(layout.etcdDataDir, { recursive: true, force: true });
    const state = await readState(layout);
    if (!state) throw new Error('bench: state vanished');
    const [etcd, apiserver] = controlPlane(state, layout);
    t = performance.now();
    await startProcess(layout, etcd!, binaries.etcd.path);
    await waitEtcdHealthy(layout, state);
    await startProcess(layout, apiserver!, binaries['kube-apiserver'].path);
    await waitApiserverReady(layout, state);
    const bare = performance.now() - t;
    await downLocalCluster('one', { env, purge: true });

    t = performance.now();
    const three = await Promise.all(['a', 'b', 'c'].map((name) => upLocalCluster(name, { nodes: 2, env })));
    const upThree = performance.now() - t;

    const byComponent = {} as Record<ComponentName, number>;
    let total = 0;
    for (const cluster of three) {
      for (const spec of controlPlane(state, clusterLayout(cluster.name, env))) {
        const rss = rssMiB(runningProcess(clusterLayout(cluster.name, env), spec.name)?.pid);
        byComponent[spec.name] = (byComponent[spec.name] ?? 0) + rss / three.length;
        total += rss;
      }
    }
    for (const cluster of three) await downLocalCluster(cluster.name, { env, purge: true });
    return {
      upOneSeconds: seconds(upOne),
      bareEtcdApiserverSeconds: seconds(bare),
      upOneOverBare: Math.round((upOne / bare) * 100) / 100,
      upThreeSeconds: seconds(upThree),
      upThreeOverUpOne: Math.round((upThree / upOne) * 100) / 100,
      rssMiBPerCluster: Math.round(total / three.length),
      rssMiBByComponent: Object.fromEntries(Object.entries(byComponent).map(([k, v]) => [k, Math.round(v)])) as Record<ComponentName, number>,
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}
