import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downLocalCluster, upLocalCluster, type LocalClusterInfo } from '../../clusters/local/local-cluster.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { applyThenNoop, CONCURRENCY, createNamespaces, INFRA_ROOT, PER_APP, r2, rawLoop, writeRepo, writeStack } from './reconcile-fixture.ts';

/**
 * Reconciler throughput against the raw limit measured in the same run: a bare loop of
 * server-side-apply PATCHes of the same objects at the same concurrency, with the same client.
 * With a baseline checkout (`--baseline DIR`, a previous version of this repository), the
 * same round also runs that version's CLI on its own copy of the apps, so an experiment is
 * compared with what it replaces under the same load.
 */

export interface ReconcileOptions {
  readonly apps: number;
  readonly oneClusterOnly: boolean;
  /** Root of a previous checkout whose CLI is measured in the same round. */
  readonly baseline?: string;
}

export interface ReconcileFigures {
  readonly apps: number;
  readonly objectsPerCluster: number;
  readonly concurrency: number;
  readonly oneCluster: Round;
  readonly threeClusters?: Round;
}

interface Round {
  readonly applySeconds: number;
  readonly rawSeconds: number;
  readonly ratioToRaw: number;
  /** Raw loop that dry-runs every object before writing any (validate-then-apply floor). */
  readonly rawValidatedSeconds: number;
  readonly ratioToRawValidated: number;
  readonly noopSeconds: number;
  readonly noopWrites: number;
  readonly noopDryRuns: number;
  readonly noopOverApply: number;
  readonly peakRssMiB: number;
  readonly baseline?: Omit<Round, 'rawSeconds' | 'rawValidatedSeconds' | 'ratioToRawValidated' | 'baseline'> & { root: string };
}

async function measureCli(root: string, clusters: readonly LocalClusterInfo[], stack: string, env: NodeJS.ProcessEnv, rawSeconds: number) {
  const { apply, noop, noopWrites, noopDryRuns } = await applyThenNoop(root, clusters, stack, env);
  return {
    applySeconds: r2(apply.seconds),
    ratioToRaw: r2(rawSeconds / apply.seconds),
    noopSeconds: r2(noop.seconds),
    noopWrites,
    noopDryRuns,
    noopOverApply: r2(noop.seconds / apply.seconds),
    peakRssMiB: apply.peakRssMiB,
  };
}

async function round(clusters: readonly LocalClusterInfo[], repo: GitFixture, dir: string, prefix: string, env: NodeJS.ProcessEnv, options: ReconcileOptions): Promise<Round> {
  const ns = `${prefix}ns`;
  const baseNs = `${prefix}bns`;
  await createNamespaces(clusters, [ns, `${ns}-raw`, `${ns}-rawv`, ...(options.baseline ? [baseNs] : [])]);
  await writeRepo(repo, prefix, ns, options.apps);
  const stack = await writeStack(dir, repo.dir, prefix, ns, clusters, options.apps);
  const rawSeconds = await rawLoop(clusters, prefix, `${ns}-raw`, options.apps);
  const rawValidatedSeconds = await rawLoop(clusters, prefix, `${ns}-rawv`, options.apps, true);
  // The baseline goes first when there is one: it then pays no more warm-up than ours.
  let baseline: Round['baseline'];
  if (options.baseline) {
    const bprefix = `${prefix}b`;
    await writeRepo(repo, bprefix, baseNs, options.apps);
    const bstack = await writeStack(dir, repo.dir, bprefix, baseNs, clusters, options.apps);
    baseline = { root: options.baseline, ...(await measureCli(options.baseline, clusters, bstack, env, rawSeconds)) };
  }
  const ours = await measureCli(INFRA_ROOT, clusters, stack, env, rawSeconds);
  return {
    ...ours,
    rawSeconds: r2(rawSeconds),
    rawValidatedSeconds: r2(rawValidatedSeconds),
    ratioToRawValidated: r2(rawValidatedSeconds / ours.applySeconds),
    ...(baseline ? { baseline } : {}),
  };
}

export async function benchReconcile(options: ReconcileOptions): Promise<ReconcileFigures> {
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-rec-'));
  const env = { ...process.env, INFRA_HOME: home };
  const repo = await GitFixture.create();
  const names = options.oneClusterOnly ? ['ra'] : ['ra', 'rb', 'rc'];
  const clusters = await Promise.all(names.map((n) => upLocalCluster(n, { nodes: 1, unsafeNoFsync: true, env })));
  const figures = { apps: options.apps, objectsPerCluster: options.apps * PER_APP, concurrency: CONCURRENCY };
  try {
    const oneCluster = await round([clusters[0] as LocalClusterInfo], repo, home, 'o', env, options);
    if (options.oneClusterOnly) return { ...figures, oneCluster };
    const threeClusters = await round(clusters, repo, home, 't', env, options);
    return { ...figures, oneCluster, threeClusters };
  } finally {
    for (const c of clusters) await downLocalCluster(c.name, { purge: true, env });
    await repo.remove();
    await rm(home, { recursive: true, force: true });
  }
}
