import { isTransient } from '../clusters/kube-client.ts';
import type { AppSpec } from '../stacks/gitops.ts';
import type { StackSpec } from '../stacks/load.ts';
import { InfraError } from '../stacks/errors.ts';
import { expandAppsFolder } from './app-of-apps.ts';
import { RenderError } from './errors.ts';
import { backoffDelay, DEFAULT_BACKOFF, type Backoff } from './backoff.ts';
import { placeApp } from './place/placement.ts';
import { renderApp } from './render/render.ts';
import { substituteManifests } from './render/variables.ts';
import { SourceFetcher } from './source/git-source.ts';
import { writeRecord } from './status/app-record.ts';
import { commitSync } from './sync/commit.ts';
import { prepareSync } from './sync/prepare.ts';
import { ContentError, type ClusterTarget, type PreparedSync } from './sync/target.ts';
import { connect } from './targets.ts';
import type { AppStatus, Manifest, Revision, StatusError } from './types.ts';
import { mapLimit } from './pool.ts';

/**
 * One reconcile round over a stack's apps: fetch each source once, render each app once,
 * then per target cluster validate (dry-run) and apply. A content error (broken commit) stops
 * the app on every cluster before any write; an unreachable cluster is retried with backoff
 * on its own and never holds the others back.
 */

export interface ReconcileRequest {
  readonly stack: StackSpec;
  readonly apps?: readonly string[];
  readonly cacheRoot: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Requests in flight per cluster. */
  readonly concurrency?: number;
  /** Apps reconciled at once. */
  readonly appConcurrency?: number;
  /** How long to keep retrying an unreachable cluster. */
  readonly retryForMs?: number;
  readonly backoff?: Backoff;
  readonly progress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface PlannedChange {
  readonly app: string;
  readonly cluster: string;
  readonly revision: string;
  readonly apply: readonly { object: string; change: 'create' | 'update' | 'drift'; fields: readonly string[] }[];
  readonly prune: readonly string[];
  readonly error?: StatusError;
}

/**
 * What a round did for one app on one cluster: `synced` (the sync ran to its end; its status may
 * still report apply or health errors), `planned` (diff: what a sync would change), or `failed`
 * (stopped before a sync: source, render, validation, dependency, unreachable cluster).
 */
export type SyncResult =
  | { readonly kind: 'synced'; readonly app: string; readonly cluster: string; readonly status: AppStatus }
  | { readonly kind: 'planned'; readonly app: string; readonly cluster: string; readonly plan: PlannedChange }
  | { readonly kind: 'failed'; readonly app: string; readonly cluster: string; readonly status: AppStatus };

/** A diff line per app × cluster: the plan, or the status of why it could not be planned. */
export type DiffResult = PlannedChange | AppStatus;

export type Mode = 'sync' | 'plan';

export async function reconcile(req: ReconcileRequest): Promise<AppStatus[]> {
  return (await reconcileRound(req, 'sync')).map((r) => (r.kind === 'planned' ? unexpectedPlan(r) : r.status));
}

/** What `reconcile` would change, per app and cluster, from server-side dry-runs. Writes nothing. */
export async function diff(req: ReconcileRequest): Promise<DiffResult[]> {
  return (await reconcileRound(req, 'plan')).map((r) => (r.kind === 'planned' ? r.plan : r.status));
}

function unexpectedPlan(r: SyncResult): never {
  throw new Error(`a sync round returned a plan for ${r.app} on ${r.cluster}`);
}

/** One round in either mode, a tagged result per app × cluster (waves in order, clusters in stack order). */
export async function reconcileRound(req: ReconcileRequest, mode: Mode): Promise<SyncResult[]> {
  const fetcher = new SourceFetcher(req.cacheRoot);
  const targets = new Map(req.stack.clusters.map((c) => [c.name, connect(c, req.env, req.concurrency ?? 16)] as const));
  try {
    const apps = await expandApps(req, fetcher);
    const names = new Set(apps.map((a) => a.name));
    for (const t of targets.values()) t.round.scope(names);
    const results: SyncResult[] = [];
    // Results kept by app only for apps another app depends on (the rest need not be looked up).
    const done = new Map<string, Map<string, SyncResult>>();
    const dependedOn = new Set(apps.flatMap((a) => a.dependsOn));
    for (const wave of dependencyWaves(apps)) {
      const settled = await mapLimit(wave, req.appConcurrency ?? 32, (app) =>
        reconcileApp(req, app, fetcher, targets, mode, done).finally(() => {
          for (const t of targets.values()) t.round.release(app.name);
        }),
      );
      for (const [i, s] of settled.entries()) {
        if (s.status === 'rejected') throw s.reason;
        const app = wave[i] as AppSpec;
        if (dependedOn.has(app.name)) done.set(app.name, new Map(s.value.map((r) => [r.cluster, r])));
        results.push(...s.value);
      }
    }
    await closeJournals(req, targets.values());
    return results;
  } finally {
    for (const t of targets.values()) t.client.close();
  }
}

/** Writes the journal removals still queued; a cluster that fails here keeps notes the next round settles. */
async function closeJournals(req: ReconcileRequest, targets: Iterable<ClusterTarget>): Promise<void> {
  await Promise.all(
    [...targets].map((t) =>
      t.journal.close(req.signal).catch((err: unknown) => {
        if (!isTransient(err)) throw err;
        req.progress?.(`cluster ${t.spec.name}: journal not cleared (${(err as Error).message}); the next round clears it`);
      }),
    ),
  );
}

async function expandApps(req: ReconcileRequest, fetcher: SourceFetcher): Promise<AppSpec[]> {
  const out: AppSpec[] = [];
  for (const app of req.stack.gitops.apps) {
    if (!app.appsFolder) {
      out.push(app);
      continue;
    }
    const revision = await fetcher.fetch(sourceOf(req, app), req.signal);
    out.push(...(await expandAppsFolder(app, revision)));
  }
  const wanted = req.apps && req.apps.length > 0 ? new Set(req.apps) : undefined;
  if (wanted) {
    const known = new Set(out.map((a) => a.name));
    const missing = [...wanted].filter((n) => !known.has(n));
    if (missing.length > 0) throw new UnknownAppError(`no app named ${missing.map((m) => `"${m}"`).join(', ')}`, { hint: `apps: ${[...known].join(', ')}` });
  }
  return wanted ? out.filter((a) => wanted.has(a.name)) : out;
}

class UnknownAppError extends InfraError {
  readonly reason = 'UnknownApp';
  override readonly exitCode = 2;
}

function sourceOf(req: ReconcileRequest, app: AppSpec) {
  const s = req.stack.gitops.sources.find((x) => x.name === app.source);
  if (!s) throw new UnknownAppError(`app "${app.name}" names unknown source "${app.source}"`);
  return s;
}

/** Apps grouped so each group depends only on earlier ones (the stack loader rejects cycles). */
export function dependencyWaves(apps: readonly AppSpec[]): AppSpec[][] {
  const names = new Set(apps.map((a) => a.name));
  const placed = new Set<string>();
  const waves: AppSpec[][] = [];
  let rest = [...apps];
  while (rest.length > 0) {
    const wave = rest.filter((a) => a.dependsOn.every((d) => placed.has(d) || !names.has(d)));
    if (wave.length === 0) throw new UnknownAppError(`dependsOn cycle among ${rest.map((a) => a.name).join(', ')}`);
    for (const a of wave) placed.add(a.name);
    waves.push(wave);
    rest = rest.filter((a) => !placed.has(a.name));
  }
  return waves;
}

async function reconcileApp(
  req: ReconcileRequest,
  app: AppSpec,
  fetcher: SourceFetcher,
  targets: ReadonlyMap<string, ClusterTarget>,
  mode: Mode,
  done: ReadonlyMap<string, ReadonlyMap<string, SyncResult>>,
): Promise<SyncResult[]> {
  const placed = placeApp(app, req.stack.clusters).map((c) => targets.get(c.name)).filter((t): t is ClusterTarget => !!t);
  const writes = mode === 'sync';
  const failAll = (revision: string, error: StatusError) => Promise.all(placed.map((t) => recordFailure(t, app, revision, error, writes, req.signal)));

  let revision: Revision | undefined;
  let rendered: Manifest[];
  try {
    revision = await fetcher.fetch(sourceOf(req, app), req.signal);
    rendered = await renderApp(app, revision, { cacheRoot: req.cacheRoot, ...(req.signal ? { signal: req.signal } : {}) });
  } catch (err) {
    if (!(err instanceof InfraError)) throw err;
    return failAll(revision?.commit ?? '', { reason: err.reason === 'SourceFailed' ? 'SourceFailed' : 'RenderFailed', message: err.message, ...(err.where ? { where: err.where } : {}) });
  }
  const commit = revision.commit;
  req.progress?.(`${app.name}: ${commit.slice(0, 12)}, ${rendered.length} object(s) → ${placed.map((t) => t.spec.name).join(', ') || 'no cluster'}`);

  const manifestsFor = (t: ClusterTarget) =>
    substituteManifests(rendered, { cluster: { name: t.spec.name, labels: t.spec.labels }, vars: { ...app.variables, ...app.clusterVariables[t.spec.name] } });
  const blocked = (t: ClusterTarget) => app.dependsOn.find((d) => {
    const r = done.get(d)?.get(t.spec.name);
    return r !== undefined && r.kind !== 'planned' && (r.status.sync === 'Failed' || r.status.health !== 'Healthy');
  });
  const prepare = (t: ClusterTarget) => {
    let manifests: Manifest[];
    try {
      manifests = manifestsFor(t);
    } catch (err) {
      if (err instanceof RenderError) throw new ContentError({ reason: 'RenderFailed', message: err.message, ...(err.where ? { where: err.where } : {}) });
      throw err;
    }
    return prepareSync(app, commit, manifests, t, { concurrency: req.concurrency ?? 16, ...(req.signal ? { signal: req.signal } : {}) });
  };
  const finish = async (p: PreparedSync): Promise<SyncResult> => {
    const base = { app: app.name, cluster: p.cluster.spec.name };
    if (mode === 'plan') return { kind: 'planned', ...base, plan: planOf(p) };
    return { kind: 'synced', ...base, status: await commitSync(p, { concurrency: req.concurrency ?? 16, ...(req.signal ? { signal: req.signal } : {}) }) };
  };

  // Gate: every reachable cluster validates first; a content error anywhere stops the app everywhere.
  const first = await Promise.all(
    placed.map(async (t) => {
      const dep = blocked(t);
      if (dep) return { t, kind: 'blocked' as const, dep };
      try {
        return { t, kind: 'ok' as const, prepared: await prepare(t) };
      } catch (err) {
        return { t, kind: err instanceof ContentError ? ('content' as const) : isTransient(err) ? ('transient' as const) : ('content' as const), err };
      }
    }),
  );
  const broken = first.find((f) => f.kind === 'content');
  if (broken && 'err' in broken) {
    const status = broken.err instanceof ContentError ? broken.err.status : { reason: 'ValidationFailed' as const, message: String((broken.err as Error).message) };
    return failAll(revision.commit, status);
  }
  return Promise.all(
    first.map(async (f) => {
      if (f.kind === 'blocked') return recordFailure(f.t, app, commit, { reason: 'DependencyNotReady', message: `waits for app "${f.dep}" to be Synced and Healthy` }, writes, req.signal);
      return withRetry(req, f.t, app, commit, f.kind === 'ok' ? f.prepared : undefined, prepare, finish, writes);
    }),
  );
}

async function withRetry(
  req: ReconcileRequest,
  t: ClusterTarget,
  app: AppSpec,
  revision: string,
  prepared: PreparedSync | undefined,
  prepare: (t: ClusterTarget) => Promise<PreparedSync>,
  finish: (p: PreparedSync) => Promise<SyncResult>,
  writes: boolean,
): Promise<SyncResult> {
  const backoff = req.backoff ?? DEFAULT_BACKOFF;
  const deadline = backoff.now() + (req.retryForMs ?? 120_000);
  let attempt = 0;
  let next = prepared;
  for (;;) {
    try {
      return await finish(next ?? (await prepare(t)));
    } catch (err) {
      if (err instanceof ContentError) return recordFailure(t, app, revision, err.status, writes, req.signal);
      if (!isTransient(err)) throw err;
      t.round.invalidate();
      t.applier.discovery.invalidate();
      if (backoff.now() >= deadline) return failed(unreachable(t, app, revision, (err as Error).message));
      const wait = backoffDelay(backoff, attempt++);
      req.progress?.(`${app.name} on ${t.spec.name}: ${(err as Error).message}; retrying in ${(wait / 1000).toFixed(1)}s`);
      await backoff.sleep(wait, req.signal);
      next = undefined;
    }
  }
}

function failed(status: AppStatus): SyncResult {
  return { kind: 'failed', app: status.app, cluster: status.cluster, status };
}

function unreachable(t: ClusterTarget, app: AppSpec, revision: string, message: string): AppStatus {
  return { app: app.name, cluster: t.spec.name, revision, sync: 'Failed', health: 'Unknown', drifted: [], unhealthy: [], objects: 0, error: { reason: 'ClusterUnreachable', message } };
}

/** Records a failure in the cluster's status (inventory untouched: the previous revision stays). */
async function recordFailure(t: ClusterTarget, app: AppSpec, revision: string, error: StatusError, writes: boolean, signal?: AbortSignal): Promise<SyncResult> {
  const base = { app: app.name, cluster: t.spec.name, revision, sync: 'Failed' as const, drifted: [], unhealthy: [], error };
  if (!writes) return failed({ ...base, health: 'Unknown', objects: 0 });
  try {
    const record = await t.round.record(app.name, signal);
    const status: AppStatus = {
      ...base,
      health: record.status?.health ?? 'Unknown',
      objects: record.inventory.entries.length,
      ...(record.status?.lastAppliedRevision ? { lastAppliedRevision: record.status.lastAppliedRevision } : {}),
    };
    if (JSON.stringify(status) !== JSON.stringify(record.status)) await writeRecord(t.client, app.name, { ...record, status }, signal);
    return failed(status);
  } catch (err) {
    if (isTransient(err)) return failed(unreachable(t, app, revision, (err as Error).message));
    throw err;
  }
}

function planOf(p: PreparedSync): PlannedChange {
  const desired = new Set(p.objects.map((o) => o.key));
  return {
    app: p.app.name,
    cluster: p.cluster.spec.name,
    revision: p.revision,
    apply: p.objects
      .filter((o) => o.change === 'apply' || o.change === 'drifted')
      .map((o) => ({ object: o.key, change: o.change === 'drifted' ? ('drift' as const) : p.liveOwned.has(o.key) ? ('update' as const) : ('create' as const), fields: o.drift })),
    prune: p.app.prune ? p.record.inventory.entries.filter((e) => !desired.has(e.key)).map((e) => e.key) : [],
  };
}
