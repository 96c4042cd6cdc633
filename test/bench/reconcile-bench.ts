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
  /** Mean of this checkout's runs (two when a baseline is measured). */
  readonly applySeconds: number;
  readonly applyRuns: readonly number[];
  /** Mean of the raw loop before and after the CLI runs (the machine drifts). */
  readonly rawSeconds: number;
  readonly rawRuns: readonly number[];
  readonly ratioToRaw: number;
  /** Raw loop that dry-runs every object before writing any (validate-then-apply floor). */
  readonly rawValidatedSeconds: number;
  readonly ratioToRawValidated: number;
  readonly noopSeconds: number;
  readonly noopWrites: number;
  readonly noopDryRuns: number;
  readonly noopOverApply: number;
  readonly peakRssMiB: number;
  readonly baseline?: CliFigures & { readonly root: string; readonly ratioToRaw: number; readonly baselineOverOurs: number };
}

interface CliFigures {
  readonly applySeconds: number;
  readonly applyRuns: readonly number[];
  readonly noopSeconds: number;
  readonly noopWrites: number;
  readonly noopDryRuns: number;
  readonly noopOverApply: number;
  readonly peakRssMiB: number;
}

type CliRuns = Awaited<ReturnType<typeof applyThenNoop>>[];

function figuresOf(runs: CliRuns): CliFigures {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const apply = mean(runs.map((r) => r.apply.seconds));
  const noop = mean(runs.map((r) => r.noop.seconds));
  return {
    applySeconds: r2(apply),
    applyRuns: runs.map((r) => r2(r.apply.seconds)),
    noopSeconds: r2(noop),
    noopWrites: Math.max(...runs.map((r) => r.noopWrites)),
    noopDryRuns: Math.max(...runs.map((r) => r.noopDryRuns)),
    noopOverApply: r2(noop / apply),
    peakRssMiB: Math.max(...runs.map((r) => r.apply.peakRssMiB, ...runs.map((x) => x.noop.peakRssMiB))),
  };
}

/**
 * One round: the raw loop, the validated raw loop, then the CLI runs, then the raw loop again.
 * With a baseline the CLI runs go baseline, ours, ours, baseline (each on its own copy of the
 * apps), so a machine that gets busier or calmer during the round favours neither.
 */
async function round(clusters: readonly LocalClusterInfo[], repo: GitFixture, dir: string, prefix: string, env: NodeJS.ProcessEnv, options: ReconcileOptions): Promise<Round> {
  const ns = `${prefix}ns`;
  const sets: [string, string][] = options.baseline
    ? [['b1', options.baseline], ['o1', INFRA_ROOT], ['o2', INFRA_ROOT], ['b2', options.baseline]]
    : [['o1', INFRA_ROOT]];
  await createNamespaces(clusters, [`${ns}-raw`, `${ns}-raw2`, `${ns}-rawv`, ...sets.map(([tag]) => `${ns}-${tag}`)]);
  const rawBefore = await rawLoop(clusters, prefix, `${ns}-raw`, options.apps);
  const rawValidatedSeconds = await rawLoop(clusters, prefix, `${ns}-rawv`, options.apps, true);
  const ours: CliRuns = [];
  const theirs: CliRuns = [];
  for (const [tag, root] of sets) {
    const appPrefix = `${prefix}${tag}x`;
    await writeRepo(repo, appPrefix, `${ns}-${tag}`, options.apps);
    const stack = await writeStack(dir, repo.dir, appPrefix, `${ns}-${tag}`, clusters, options.apps);
    (root === INFRA_ROOT ? ours : theirs).push(await applyThenNoop(root, clusters, stack, env));
  }
  const rawAfter = await rawLoop(clusters, prefix, `${ns}-raw2`, options.apps);
  const raw = (rawBefore + rawAfter) / 2;
  const o = figuresOf(ours);
  return {
    ...o,
    rawSeconds: r2(raw),
    rawRuns: [r2(rawBefore), r2(rawAfter)],
    ratioToRaw: r2(raw / o.applySeconds),
    rawValidatedSeconds: r2(rawValidatedSeconds),
    ratioToRawValidated: r2(rawValidatedSeconds / o.applySeconds),
    ...(options.baseline ? { baseline: baselineFigures(options.baseline, figuresOf(theirs), raw, o.applySeconds) } : {}),
  };
}

function baselineFigures(root: string, f: CliFigures, raw: number, oursApply: number): NonNullable<Round['baseline']> {
  return { root, ...f, ratioToRaw: r2(raw / f.applySeconds), baselineOverOurs: r2(f.applySeconds / oursApply) };
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
