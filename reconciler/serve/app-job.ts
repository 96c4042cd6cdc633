import type { AppSpec, GitSourceSpec } from '../../stacks/gitops.ts';
import type { StackSpec } from '../../stacks/load.ts';
import { expandAppsFolder } from '../app-of-apps.ts';
import type { Backoff } from '../backoff.ts';
import type { BuiltinApp } from '../builtin-apps.ts';
import { reconcile, removeDepartedApps } from '../reconcile.ts';
import { GitSource } from '../source/git-source.ts';
import type { PlacementView } from '../failover/targets.ts';
import type { AppStatus, KubeObject } from '../types.ts';
import type { ServeLog } from './log.ts';
import type { ServeMetrics } from './metrics.ts';
import type { JobOutcome } from './work-queue.ts';

/**
 * One job of the queue: the same pipeline as `infra reconcile`, for one app of the stack (or
 * the whole stack), with what it did turned into metrics, log lines and a retry decision.
 */

/** Failures a later attempt can fix on its own; a broken commit waits for the next push instead. */
const RETRIED = new Set(['ClusterUnreachable', 'SourceFailed', 'AdmissionWebhookFailed', 'Conflict', 'ApplyFailed', 'PruneFailed', 'StateCorrupt']);

export interface JobContext {
  readonly stack: StackSpec;
  readonly cacheRoot: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly metrics: ServeMetrics;
  readonly log: ServeLog;
  readonly clock: Backoff;
  /** The backoff of one reconcile's retries of an unreachable cluster (its sleeps end when serve stops). */
  readonly clusterBackoff: Backoff;
  /** How long one reconcile keeps retrying an unreachable cluster before the queue takes over. */
  readonly retryForMs: number;
  /** Last applied revision per `app/cluster`, to drop the old metric series. */
  readonly lastApplied: Map<string, string>;
  readonly observer?: RoundObserver;
  /** Where apps with `placement` go now (the failover controller's stored decisions). */
  readonly placement?: PlacementView & { rendered?(app: string, objects: readonly KubeObject[]): void };
  /**
   * The stack's add-ons as apps infra owns (rendered by the caller: reconciler/ cannot import
   * modules/). Absent: a serve that does not render them, which leaves their records alone.
   */
  readonly builtins?: readonly BuiltinApp[];
}

/** Watches rounds (the dashboard): apps about to be reconciled, and what each round reported. */
export interface RoundObserver {
  /** A round starts for these apps (undefined: every app of the stack). */
  started(apps: readonly string[] | undefined): void;
  /** A round ended (`apps` as it was asked; statuses may lack some of them, or be empty when it threw). */
  finished(apps: readonly string[] | undefined, statuses: readonly AppStatus[], startedAt: number, durationMs: number): void;
}

/**
 * A backoff whose retry budget ends when `drain` aborts (serve is stopping): its sleeps end at
 * once and its clock jumps past any deadline, so a reconcile retrying an unreachable cluster
 * records that failure and returns, instead of holding the shutdown for its whole --retry-for.
 */
export function drainingBackoff(base: Backoff, drain: AbortSignal): Backoff {
  return {
    ...base,
    now: () => (drain.aborted ? Number.MAX_SAFE_INTEGER : base.now()),
    sleep: (ms, signal) =>
      base.sleep(ms, signal ? AbortSignal.any([signal, drain]) : drain).catch((err: unknown) => {
        if (drain.aborted && !signal?.aborted) return;
        throw err;
      }),
  };
}

/** Whether `source` serves the announced commit yet; a webhook can be faster than the mirror we fetch from. */
export async function commitAvailable(spec: GitSourceSpec, commit: string, cacheRoot: string, signal?: AbortSignal): Promise<boolean> {
  return new GitSource(spec, cacheRoot).hasCommit(commit, signal);
}

/** The concrete apps behind a stack-level app: itself, or the App files of its app-of-apps folder. */
export async function appNamesOf(ctx: JobContext, app: AppSpec, signal?: AbortSignal): Promise<string[]> {
  if (!app.appsFolder) return [app.name];
  const spec = ctx.stack.gitops.sources.find((s) => s.name === app.source);
  if (!spec) return [];
  const revision = await new GitSource(spec, ctx.cacheRoot).fetch(signal);
  return (await expandAppsFolder(app, revision)).map((a) => a.name);
}

/**
 * Reconciles `apps` (undefined: the whole stack, removals included) in one round, counting a run
 * for each of `labels` (the stack-level apps, or "(stack)"), and records what happened.
 */
export async function runReconcile(ctx: JobContext, labels: readonly string[], apps: readonly string[] | undefined, signal?: AbortSignal): Promise<AppStatus[]> {
  const started = ctx.clock.now();
  ctx.metrics.reconcileRounds.inc();
  for (const app of labels) ctx.metrics.reconcileRuns.inc({ app });
  let statuses: AppStatus[] = [];
  try {
    statuses = await reconcile({
      stack: ctx.stack,
      ...(apps ? { apps } : {}),
      cacheRoot: ctx.cacheRoot,
      ...(ctx.builtins ? { builtins: ctx.builtins } : {}),
      ...(ctx.env ? { env: ctx.env } : {}),
      retryForMs: ctx.retryForMs,
      backoff: ctx.clusterBackoff,
      ...(ctx.placement ? { placement: ctx.placement, onRendered: (app: string, objects: readonly KubeObject[]) => ctx.placement?.rendered?.(app, objects) } : {}),
      // The pipeline's lines name their app; the field only when the round is one app's.
      progress: (line) => ctx.log.info(line, apps?.length === 1 ? { app: apps[0] } : {}),
      ...(signal ? { signal } : {}),
    });
  } finally {
    ctx.observer?.finished(apps, statuses, started, ctx.clock.now() - started);
  }
  record(ctx, statuses, ctx.clock.now() - started);
  return statuses;
}

/**
 * Prunes the apps that left the stack and that `owner` claims (a replica's shards), one log line
 * per app and cluster pruned. Applies nothing.
 */
export async function runRemovals(ctx: JobContext, owner: (app: string) => { readonly signal?: AbortSignal } | undefined, signal?: AbortSignal): Promise<AppStatus[]> {
  const started = ctx.clock.now();
  const statuses = await removeDepartedApps({
    stack: ctx.stack,
    cacheRoot: ctx.cacheRoot,
    ...(ctx.builtins ? { builtins: ctx.builtins } : {}),
    ...(ctx.env ? { env: ctx.env } : {}),
    retryForMs: ctx.retryForMs,
    backoff: ctx.clusterBackoff,
    progress: (line) => ctx.log.info(line),
    owner,
    ...(signal ? { signal } : {}),
  });
  const durationMs = ctx.clock.now() - started;
  for (const s of statuses) {
    const fields = { app: s.app, cluster: s.cluster, revision: s.revision, durationMs };
    if (s.sync === 'Failed') ctx.log.warn(`removal of departed app not finished: ${s.error?.reason ?? 'Failed'}: ${s.error?.message ?? ''}`, fields);
    else ctx.log.info('pruned: the app left the stack', fields);
  }
  return statuses;
}

/**
 * Whether the apps `names` (of one job) need another attempt: a failure a later attempt can fix.
 * One job's apps (`names` given) also wait for dependencies that other jobs apply (an add-on, an
 * app of another source or shard): the retry finds them ready once their own job is done. A
 * whole-stack round does not: its dependencies were in it, and their own failure is what is retried.
 */
export function outcomeOf(statuses: readonly AppStatus[], names?: ReadonlySet<string>): JobOutcome {
  const retried = (reason: string) => RETRIED.has(reason) || (names !== undefined && reason === 'DependencyNotReady');
  const retry = statuses.find((s) => (!names || names.has(s.app)) && s.sync === 'Failed' && s.error && retried(s.error.reason));
  return retry ? { kind: 'retry', why: `${retry.app} on ${retry.cluster}: ${retry.error?.reason}: ${retry.error?.message}` } : { kind: 'done' };
}

function record(ctx: JobContext, statuses: readonly AppStatus[], durationMs: number): void {
  for (const s of statuses) {
    const result = s.sync === 'Failed' ? 'failed' : s.health === 'Healthy' ? 'synced' : 'unhealthy';
    ctx.metrics.reconcileDuration.observe({ app: s.app, cluster: s.cluster, result }, durationMs / 1000);
    const fields = { app: s.app, cluster: s.cluster, revision: s.revision, durationMs };
    if (s.sync === 'Failed') {
      ctx.log.warn(`${s.error?.reason ?? 'Failed'}: ${s.error?.message ?? ''}${s.error?.where ? ` (${s.error.where})` : ''}`, fields);
    } else {
      ctx.log.info(`${s.sync}, ${s.health}${s.drifted.length > 0 ? `, ${s.drifted.length} drifted` : ''}`, fields);
    }
    const applied = s.sync === 'Failed' ? s.lastAppliedRevision : s.revision;
    if (applied) {
      const key = `${s.app}/${s.cluster}`;
      ctx.metrics.setLastApplied(s.app, s.cluster, applied, ctx.lastApplied.get(key));
      ctx.lastApplied.set(key, applied);
    }
  }
}
