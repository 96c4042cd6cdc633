import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KubeClient } from '../../clusters/kube-client.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { downLocalCluster, upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { killComponent } from '../../clusters/local/processes.ts';
import { waitFor } from '../../clusters/wait.ts';
import { readRecord } from '../../reconciler/status/app-record.ts';
import { runInfra } from '../harness/cli.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { ServeProcess } from '../harness/serve-process.ts';
import { r2 } from './reconcile-fixture.ts';

/**
 * Failover recovery time (issue 12): two local clusters, `edge` (home) and `core` (fallback, also
 * the management cluster), one app with `tolerationSeconds: 10` and the default probes (every 2 s,
 * 2 failures). Each run SIGKILLs edge's kube-apiserver and measures until the app's record on core
 * says Synced + Healthy; then edge is restarted and the app fails back (not timed) before the next
 * run. The baseline, same run: a bare `infra reconcile -f` of the same app onto core (its best case:
 * nothing to detect, nothing to wait for). `maxMovesPerHour` is raised to 60: each run is two moves
 * (failover, failback) and the default cap of 4 would stop the third run, as it should.
 */

export interface FailoverFigures {
  readonly runs: readonly number[];
  readonly medianSeconds: number;
  readonly worstSeconds: number;
  readonly tolerationSeconds: number;
  readonly bareReconcile: { readonly runs: readonly number[]; readonly medianSeconds: number };
  readonly medianOverBare: number;
}

const TOLERATION_S = 10;

export async function benchFailover(options: { runs: number }): Promise<FailoverFigures> {
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-failover-'));
  const env = { ...process.env, INFRA_HOME: home };
  const [edge, core] = await Promise.all(['fo-edge', 'fo-core'].map((n) => upLocalCluster(n, { nodes: 1, unsafeNoFsync: true, env })));
  if (!edge || !core) throw new Error('clusters did not start');
  const repo = await GitFixture.create();
  let serve: ServeProcess | undefined;
  const coreClient = new KubeClient('core', core.kubeconfig);
  const edgeClient = new KubeClient('edge', edge.kubeconfig);
  try {
    await repo.commit({ 'web/cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' }, data: { v: '1' } }) }, 'web');
    const app = (name: string, ns: string, placement: boolean, targets: string[]) => ({
      name,
      source: 'repo',
      path: 'web',
      namespace: ns,
      createNamespace: true,
      targets: { clusters: targets },
      ...(placement ? { placement: { maxClusters: 1, preference: ['edge', 'core'], failover: { tolerationSeconds: TOLERATION_S, maxMovesPerHour: 60, failback: { enabled: true, stabilizationSeconds: 5 } } } } : {}),
    });
    const stackOf = async (file: string, apps: unknown[]) => {
      const clusters = [
        { name: 'edge', kubeconfig: edge.kubeconfig },
        { name: 'core', kubeconfig: core.kubeconfig },
      ];
      await writeFile(file, stringify({ apiVersion: 'infra.dev/v1alpha1', kind: 'Stack', metadata: { name: 'bench-failover' }, clusters, gitops: { sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' } }], apps } }));
      return file;
    };
    const stack = await stackOf(join(home, 'stack.yaml'), [app('web', 'bench-failover', true, ['edge', 'core'])]);
    serve = ServeProcess.start(['-f', stack, '--management-kubeconfig', core.kubeconfig], env);
    const healthyOn = async (client: KubeClient) => {
      try {
        const status = (await readRecord(client, 'web')).status;
        return status?.sync === 'Synced' && status.health === 'Healthy';
      } catch {
        return false; // unreachable (the killed cluster)
      }
    };
    const until = async (check: () => Promise<boolean>, timeoutMs: number, what: string) => {
      const ok = await waitFor(async () => ((await check()) ? true : undefined), { timeoutMs, intervalMs: 50 });
      if (!ok) throw new Error(`bench: ${what} did not happen within ${timeoutMs / 1000}s; serve log:\n${serve?.raw.slice(-4000)}`);
    };
    const runs: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      // At home, and gone from core (the previous run's failback finished).
      await until(async () => (await healthyOn(edgeClient)) && !(await exists(coreClient)), 180_000, 'placement at home');
      await killComponent(clusterLayout('fo-edge', env), 'kube-apiserver');
      const t0 = performance.now();
      await until(() => healthyOn(coreClient), 120_000, 'failover to core');
      runs.push((performance.now() - t0) / 1000);
      await upLocalCluster('fo-edge', { env });
    }
    await until(async () => (await healthyOn(edgeClient)) && !(await exists(coreClient)), 180_000, 'last failback');
    await serve.stop();
    serve = undefined;
    const bare: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      const file = await stackOf(join(home, `bare-${i}.yaml`), [app(`bare-${i}`, `bench-bare-${i}`, false, ['core'])]);
      const t0 = performance.now();
      const r = await runInfra(['reconcile', '-f', file], env);
      if (r.code !== 0) throw new Error(`bare reconcile failed: ${r.stderr}`);
      bare.push((performance.now() - t0) / 1000);
    }
    const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    return {
      runs: runs.map(r2),
      medianSeconds: r2(median(runs)),
      worstSeconds: r2(Math.max(...runs)),
      tolerationSeconds: TOLERATION_S,
      bareReconcile: { runs: bare.map(r2), medianSeconds: r2(median(bare)) },
      medianOverBare: r2(median(runs) / median(bare)),
    };
  } finally {
    await serve?.stop('SIGKILL');
    coreClient.close();
    edgeClient.close();
    for (const n of ['fo-edge', 'fo-core']) await downLocalCluster(n, { purge: true, env }).catch(() => undefined);
    await rm(repo.dir, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }
}

async function exists(client: KubeClient): Promise<boolean> {
  try {
    await client.request('GET', '/api/v1/namespaces/infra-system/configmaps/infra-app-web', { timeoutMs: 1_000 });
    return true;
  } catch {
    return false;
  }
}
