import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downLocalCluster, upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { applyThenNoop, createNamespaces, INFRA_ROOT, PER_APP, r2, rawLoop, writeRepo, writeStack } from './reconcile-fixture.ts';

/**
 * The scale series: one cluster, N apps × 5 objects for each N (default 1,000, 5,000 and
 * 20,000 — 100,000 objects), each on a fresh cluster with its raw SSA loop measured in the
 * same run. The CLI runs with no V8 heap flag: memory must stay bounded by design.
 */

export interface ScaleOptions {
  readonly sizes: readonly number[];
  /** Also measure the validate-then-apply floor (doubles the baseline time). */
  readonly validated: boolean;
  readonly baseline?: string;
}

export interface ScalePoint {
  readonly apps: number;
  readonly objects: number;
  readonly applySeconds: number;
  readonly rawSeconds: number;
  readonly ratioToRaw: number;
  readonly rawValidatedSeconds?: number;
  readonly applyMsPerObject: number;
  readonly rawMsPerObject: number;
  readonly peakRssMiB: number;
  readonly rssMiBPer1000Objects: number;
  readonly noopSeconds: number;
  readonly noopWrites: number;
  readonly noopDryRuns: number;
  readonly noopOverApply: number;
  readonly noopPeakRssMiB: number;
  readonly baseline?: { readonly root: string; readonly applySeconds: number; readonly ratioToRaw: number; readonly peakRssMiB: number; readonly noopSeconds: number; readonly noopWrites: number; readonly noopDryRuns: number };
}

export async function benchScale(options: ScaleOptions): Promise<ScalePoint[]> {
  const points: ScalePoint[] = [];
  for (const apps of options.sizes) {
    const point = await scalePoint(apps, options);
    process.stderr.write(`scale ${apps} apps: ${JSON.stringify(point)}\n`);
    points.push(point);
  }
  return points;
}

async function scalePoint(apps: number, options: ScaleOptions): Promise<ScalePoint> {
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-scale-'));
  const env = { ...process.env, INFRA_HOME: home };
  const repo = await GitFixture.create();
  // A fresh cluster per size: each size pays for its own objects only.
  const cluster = await upLocalCluster('sa', { nodes: 1, unsafeNoFsync: true, env });
  try {
    const clusters = [cluster];
    const ns = 'sns';
    await createNamespaces(clusters, [ns, `${ns}-raw`, ...(options.validated ? [`${ns}-rawv`] : []), ...(options.baseline ? ['sbns'] : [])]);
    await writeRepo(repo, 's', ns, apps);
    const stack = await writeStack(home, repo.dir, 's', ns, clusters, apps);
    const rawSeconds = await rawLoop(clusters, 's', `${ns}-raw`, apps);
    const rawValidatedSeconds = options.validated ? await rawLoop(clusters, 's', `${ns}-rawv`, apps, true) : undefined;
    let baseline: ScalePoint['baseline'];
    if (options.baseline) {
      await writeRepo(repo, 'sb', 'sbns', apps);
      const bstack = await writeStack(home, repo.dir, 'sb', 'sbns', clusters, apps);
      const { apply, noop, noopWrites, noopDryRuns } = await applyThenNoop(options.baseline, clusters, bstack, env);
      baseline = {
        root: options.baseline,
        applySeconds: r2(apply.seconds),
        ratioToRaw: r2(rawSeconds / apply.seconds),
        peakRssMiB: apply.peakRssMiB,
        noopSeconds: r2(noop.seconds),
        noopWrites,
        noopDryRuns,
      };
    }
    const { apply, noop, noopWrites, noopDryRuns } = await applyThenNoop(INFRA_ROOT, clusters, stack, env);
    const objects = apps * PER_APP;
    const peak = Math.max(apply.peakRssMiB, noop.peakRssMiB);
    return {
      apps,
      objects,
      applySeconds: r2(apply.seconds),
      rawSeconds: r2(rawSeconds),
      ratioToRaw: r2(rawSeconds / apply.seconds),
      ...(rawValidatedSeconds !== undefined ? { rawValidatedSeconds: r2(rawValidatedSeconds) } : {}),
      applyMsPerObject: r2((apply.seconds * 1000) / objects),
      rawMsPerObject: r2((rawSeconds * 1000) / objects),
      peakRssMiB: apply.peakRssMiB,
      rssMiBPer1000Objects: r2((peak * 1000) / objects),
      noopSeconds: r2(noop.seconds),
      noopWrites,
      noopDryRuns,
      noopOverApply: r2(noop.seconds / apply.seconds),
      noopPeakRssMiB: noop.peakRssMiB,
      ...(baseline ? { baseline } : {}),
    };
  } finally {
    await downLocalCluster(cluster.name, { purge: true, env });
    await repo.remove();
    await rm(home, { recursive: true, force: true });
  }
}
