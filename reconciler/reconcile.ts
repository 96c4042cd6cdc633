import { AdmissionWebhookError, KubeApiError } from '../clusters/errors.ts';
import { isTransient } from '../clusters/kube-client.ts';
import type { AppSpec, ClusterSpec } from '../stacks/gitops.ts';
import type { StackSpec } from '../stacks/load.ts';
import { InfraError } from '../stacks/errors.ts';
import { expandAppsFolder } from './app-of-apps.ts';
import { RenderError } from './errors.ts';
import { backoffDelay, DEFAULT_BACKOFF, type Backoff } from './backoff.ts';
import { applyTargets, desiredOf, keptTargets, type PlacementView } from './failover/targets.ts';
import { divideWorkloads } from './place/divide-workloads.ts';
import { renderApp, type AppRender } from './render/render.ts';
import { substituteManifests } from './render/variables.ts';
import { SourceFetcher } from './source/git-source.ts';
import { removeDeparted, type RemovalRequest } from './removal.ts';
import { corruptStatus, ownedByOtherStatus, writeRecord } from './status/app-record.ts';
import { commitSync } from './sync/commit.ts';
import { prepareSync } from './sync/prepare.ts';
import { failed, failedStatus, type PlannedChange, type SyncResult } from './sync/result.ts';
import { ClusterError, ContentError, type ClusterTarget, type PreparedSync } from './sync/target.ts';
import { connect } from './targets.ts';
import type { AppStatus, KubeObject, Manifest, Revision, StatusError } from './types.ts';
import { mapLimit } from './pool.ts';
import { isBuiltinName, withBuiltins, type BuiltinApp } from './builtin-apps.ts';
import { dependencyBlocker, outsideDependencies } from './dependencies.ts';

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
  /** Apps with `placement`: where each is applied now (serve's failover controller); absent: the initial placement. */
  readonly placement?: PlacementView;
  /** Each app's rendered objects (once per round; per cluster when its render depends on the cluster). */
  readonly onRendered?: (app: string, objects: readonly KubeObject[]) => void;
  /**
   * Apps infra renders itself (cluster add-ons), applied before the stack's apps. Absent (a
   * caller that does not render them, e.g. a test's round): their records are left alone, never
   * pruned as departed; an empty list means the stack has none (departed ones are pruned).
   */
  readonly builtins?: readonly BuiltinApp[];
}

export type { PlannedChange, SyncResult } from './sync/result.ts';

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

/**
 * One round in either mode, a tagged result per app × cluster (apps in dependency order,
 * clusters in stack order), then the apps that left the stack. An app starts as soon as the
 * apps it depends on are done, so a slow or retried app holds back only its dependents.
 */
export async function reconcileRound(req: ReconcileRequest, mode: Mode): Promise<SyncResult[]> {
  const fetcher = new SourceFetcher(req.cacheRoot);
  const targets = new Map(req.stack.clusters.map((c) => [c.name, connectOrFail(req, c)] as const));
  try {
    const every = await expandApps(req, fetcher);
    const apps = selectApps(every, req.apps);
    const names = new Set(apps.map((a) => a.name));
    const outside = outsideDependencies(every, apps);
    for (const t of targets.values()) if (!(t instanceof Error)) t.round.scope(names);
    const order = dependencyWaves(apps).flat();
    const finished = new Map(order.map((a) => [a.name, deferred<ReadonlyMap<string, SyncResult>>()] as const));
    const settled = await mapLimit(order, req.appConcurrency ?? 32, async (app) => {
      const done = finished.get(app.name);
      try {
        const deps = new Map<string, ReadonlyMap<string, SyncResult>>();
        for (const d of app.dependsOn) {
          const dep = finished.get(d);
          if (dep) deps.set(d, await dep.promise);
        }
        const results = await reconcileApp(req, app, fetcher, targets, mode, deps, outside);
        done?.resolve(new Map(results.map((r) => [r.cluster, r])));
        return results;
      } catch (err) {
        done?.reject(err);
        throw err;
      } finally {
        // What the round read for the app is of no more use where it was placed (the removal of
        // departed apps reads the records of apps not placed on a cluster, so those stay).
        for (const c of applyTargets(app, req.stack.clusters, req.placement)) {
          const t = targets.get(c.name);
          if (t && !(t instanceof Error)) t.round.release(app.name);
        }
      }
    });
    const results: SyncResult[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      results.push(...s.value);
    }
    if (!req.apps || req.apps.length === 0) {
      const placed = new Map<string, Set<string>>();
      for (const app of apps) for (const c of keptTargets(app, req.stack.clusters)) placed.set(c.name, (placed.get(c.name) ?? new Set()).add(app.name));
      const connected = [...targets.values()].filter((t): t is ClusterTarget => !(t instanceof Error));
      results.push(...(await removeDeparted(connected, { stack: req.stack.name, orphan: new Set(req.stack.gitops.orphan), placed, ...keepBuiltins(req), writes: mode === 'sync', ...(req.signal ? { signal: req.signal } : {}) })));
    }
    await closeJournals(req, [...targets.values()].filter((t): t is ClusterTarget => !(t instanceof Error)));
    return results;
  } finally {
    for (const t of targets.values()) if (!(t instanceof Error)) t.client.close();
  }
}

/**
 * Only the removal of apps that left the stack, for the departed apps `owner` claims (replicas:
 * those of the shards this process holds, each fenced by its shard's signal). Reads the stack's
 * app list (app-of-apps folders expanded) to know what is still placed; applies nothing.
 */
export async function removeDepartedApps(req: ReconcileRequest & { readonly owner: NonNullable<RemovalRequest['owner']> }): Promise<AppStatus[]> {
  const fetcher = new SourceFetcher(req.cacheRoot);
  const targets = req.stack.clusters.map((c) => connectOrFail(req, c)).filter((t): t is ClusterTarget => !(t instanceof Error));
  try {
    const apps = await expandApps(req, fetcher);
    const placed = new Map<string, Set<string>>();
    for (const app of apps) for (const c of keptTargets(app, req.stack.clusters)) placed.set(c.name, (placed.get(c.name) ?? new Set()).add(app.name));
    const results = await removeDeparted(targets, { stack: req.stack.name, orphan: new Set(req.stack.gitops.orphan), placed, ...keepBuiltins(req), writes: true, owner: req.owner, ...(req.signal ? { signal: req.signal } : {}) });
    await closeJournals(req, targets);
    return results.map((r) => (r.kind === 'planned' ? unexpectedPlan(r) : r.status));
  } finally {
    for (const t of targets) t.client.close();
  }
}

/** Without the list of builtin apps, their records are not the round's to prune. */
function keepBuiltins(req: ReconcileRequest): { keep?: (app: string) => boolean } {
  return req.builtins ? {} : { keep: isBuiltinName };
}

/** A connection, or why there is none (a missing or invalid kubeconfig): recorded as that cluster's failure. */
function connectOrFail(req: ReconcileRequest, spec: ClusterSpec): ClusterTarget | InfraError {
  try {
    return connect(spec, req.env, req.concurrency ?? 16, req.stack.name);
  } catch (err) {
    if (err instanceof InfraError) return err;
    throw err;
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by dependents; the app's own rejection is reported once
  return { promise, resolve, reject };
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

/** Every app of the stack, app-of-apps folders expanded, after the builtin apps (`req.apps` is not applied here). */
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
  return req.builtins && req.builtins.length > 0 ? withBuiltins(req.builtins, out) : out;
}

/** The apps a round asked for (`names` empty or absent: all of them). */
function selectApps(all: readonly AppSpec[], names: readonly string[] | undefined): AppSpec[] {
  const wanted = names && names.length > 0 ? new Set(names) : undefined;
  if (wanted) {
    const known = new Set(all.map((a) => a.name));
    const missing = [...wanted].filter((n) => !known.has(n));
    if (missing.length > 0) throw new UnknownAppError(`no app named ${missing.map((m) => `"${m}"`).join(', ')}`, { hint: `apps: ${[...known].join(', ')}` });
  }
  return wanted ? all.filter((a) => wanted.has(a.name)) : [...all];
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
  connections: ReadonlyMap<string, ClusterTarget | InfraError>,
  mode: Mode,
  done: ReadonlyMap<string, ReadonlyMap<string, SyncResult>>,
  outside: ReadonlyMap<string, AppSpec>,
): Promise<SyncResult[]> {
  const writes = mode === 'sync';
  const placedSpecs = applyTargets(app, req.stack.clusters, req.placement);
  // A cluster with no usable kubeconfig fails on its own; the others go on.
  const unconnected = placedSpecs.flatMap((c) => {
    const t = connections.get(c.name);
    return t instanceof InfraError ? [failed(failedStatus(app.name, c.name, '', { reason: 'KubeconfigInvalid', message: t.message, ...(t.where ? { where: t.where } : {}) }))] : [];
  });
  const placed = placedSpecs.map((c) => connections.get(c.name)).filter((t): t is ClusterTarget => !!t && !(t instanceof InfraError));
  const failAll = async (revision: string, error: StatusError) => [...(await Promise.all(placed.map((t) => recordFailure(t, app, revision, error, writes, req.signal)))), ...unconnected];

  let revision: Revision | undefined;
  let rendered: AppRender;
  const builtin = req.builtins?.find((b) => b.spec.name === app.name);
  try {
    if (builtin) {
      revision = { source: 'infra', commit: builtin.revision, dir: '' };
      rendered = { shared: undefined, forCluster: async () => [] };
    } else {
      revision = await fetcher.fetch(sourceOf(req, app), req.signal);
      rendered = await renderApp(app, revision, { cacheRoot: req.cacheRoot, ...(req.signal ? { signal: req.signal } : {}) });
    }
  } catch (err) {
    if (!(err instanceof InfraError)) throw err;
    return failAll(revision?.commit ?? '', { reason: err.reason === 'SourceFailed' ? 'SourceFailed' : 'RenderFailed', message: err.message, ...(err.where ? { where: err.where } : {}) });
  }
  const commit = revision.commit;
  const count = rendered.shared ? `${rendered.shared.length} object(s)` : 'rendered per cluster';
  if (rendered.shared) req.onRendered?.(app.name, rendered.shared.map((m) => m.object));
  req.progress?.(`${app.name}: ${commit.slice(0, 12)}, ${count} → ${placedSpecs.map((c) => c.name).join(', ') || 'no cluster'}`);

  // Clusters whose render succeeded: a render error elsewhere then depends on that cluster's capabilities.
  const renderedOn = new Set<string>();
  const manifestsFor = async (t: ClusterTarget) => {
    let manifests: readonly Manifest[];
    try {
      manifests = builtin ? builtin.manifests(t.spec.name) : await rendered.forCluster(() => t.applier.discovery.capabilities(req.signal));
      if (!builtin && !rendered.shared) req.onRendered?.(app.name, manifests.map((m) => m.object));
    } catch (err) {
      if (err instanceof RenderError) throw new CapabilityRenderError(err, t.spec.name);
      throw err;
    }
    renderedOn.add(t.spec.name);
    const substituted = substituteManifests(
      manifests,
      { cluster: { name: t.spec.name, labels: t.spec.labels }, vars: { ...app.variables, ...app.clusterVariables[t.spec.name] } },
      { enabled: app.substitute },
    );
    if (app.placement?.replicas !== 'Divided') return substituted;
    // Divided: each cluster runs its share of the workloads' replicas.
    const objects = divideWorkloads(substituted.map((m) => m.object), t.spec.name, desiredOf(app, req.stack.clusters, req.placement));
    return substituted.map((m, i) => ({ ...m, object: objects[i] ?? m.object }));
  };
  const blocked = (t: ClusterTarget) => app.dependsOn.find((d) => {
    const r = done.get(d)?.get(t.spec.name);
    return r !== undefined && r.kind !== 'planned' && (r.status.sync === 'Failed' || r.status.health !== 'Healthy');
  });
  const prepare = async (t: ClusterTarget) => {
    // Checked on every attempt: a retry may find the dependency's own round done meanwhile.
    const waitsFor = await outsideBlocker(app, outside, t, req);
    if (waitsFor) throw new ClusterError(waitsFor);
    let manifests: Manifest[];
    try {
      manifests = await manifestsFor(t);
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
  // An error of one cluster (its live state, its permissions, a render its capabilities make fail
  // while another cluster's render succeeds) stays on that cluster.
  const first = await Promise.all(
    placed.map(async (t) => {
      const dep = blocked(t);
      if (dep) return { t, kind: 'blocked' as const, dep };
      try {
        return { t, kind: 'ok' as const, prepared: await prepare(t) };
      } catch (err) {
        if (err instanceof ContentError) return { t, kind: 'content' as const, err };
        if (isTransient(err)) return { t, kind: 'transient' as const, err };
        return { t, kind: 'cluster' as const, status: clusterFailure(err, t) };
      }
    }),
  );
  const contentErrors = first.flatMap((f) => (f.kind === 'content' ? [f.err] : []));
  const broken = contentErrors.find((e) => !(e instanceof CapabilityRenderError)) ?? (renderedOn.size === 0 ? contentErrors[0] : undefined);
  if (broken) return failAll(commit, broken instanceof CapabilityRenderError ? broken.everywhere : broken.status);
  const results = await Promise.all(
    first.map(async (f) => {
      if (f.kind === 'blocked') return recordFailure(f.t, app, commit, { reason: 'DependencyNotReady', message: `waits for app "${f.dep}" to be Synced and Healthy` }, writes, req.signal);
      if (f.kind === 'cluster') return recordFailure(f.t, app, commit, f.status, writes, req.signal);
      if (f.kind === 'content') return recordFailure(f.t, app, commit, f.err.status, writes, req.signal);
      return withRetry(req, f.t, app, commit, f.kind === 'ok' ? f.prepared : undefined, f.kind === 'transient' ? f.err : undefined, prepare, finish, writes);
    }),
  );
  return [...results, ...unconnected];
}

/**
 * The first dependency outside the round that holds `app` back on `t`: one placed there whose
 * record does not say Synced and Healthy (reconciler/dependencies.ts).
 */
async function outsideBlocker(app: AppSpec, outside: ReadonlyMap<string, AppSpec>, t: ClusterTarget, req: ReconcileRequest): Promise<StatusError | undefined> {
  for (const d of app.dependsOn) {
    const dep = outside.get(d);
    if (!dep || !applyTargets(dep, req.stack.clusters, req.placement).some((c) => c.name === t.spec.name)) continue;
    const why = dependencyBlocker(d, await t.round.record(d, req.signal));
    if (why) return why;
  }
  return undefined;
}

/**
 * A render that failed with one cluster's capabilities (version, API groups). `status` names the
 * cluster, for when another cluster's render succeeded; `everywhere` is the broken commit's status.
 */
class CapabilityRenderError extends ContentError {
  readonly everywhere: StatusError;
  constructor(err: RenderError, cluster: string) {
    const everywhere: StatusError = { reason: 'RenderFailed', message: err.message, ...(err.where ? { where: err.where } : {}) };
    super({ ...everywhere, where: err.where ? `${err.where} (cluster ${cluster})` : `cluster ${cluster}` });
    this.everywhere = everywhere;
  }
}

/** A non-transient failure on one cluster, as its status names it. Bugs (non-infra errors) propagate. */
function clusterFailure(err: unknown, t: ClusterTarget): StatusError {
  if (err instanceof ClusterError) return err.status;
  if (!(err instanceof InfraError)) throw err;
  const reason = err instanceof KubeApiError && err.status === 403 ? 'Forbidden' : err instanceof KubeApiError && err.status === 409 ? 'Conflict' : 'ApplyFailed';
  return { reason, message: err.message, where: `cluster ${t.spec.name}` };
}

async function withRetry(
  req: ReconcileRequest,
  t: ClusterTarget,
  app: AppSpec,
  revision: string,
  prepared: PreparedSync | undefined,
  firstError: unknown,
  prepare: (t: ClusterTarget) => Promise<PreparedSync>,
  finish: (p: PreparedSync) => Promise<SyncResult>,
  writes: boolean,
): Promise<SyncResult> {
  const backoff = req.backoff ?? DEFAULT_BACKOFF;
  const deadline = backoff.now() + (req.retryForMs ?? 120_000);
  let attempt = 0;
  let next = prepared;
  let pendingError = firstError;
  let recorded = '';
  for (;;) {
    try {
      if (pendingError !== undefined) throw pendingError;
      return await finish(next ?? (await prepare(t)));
    } catch (err) {
      pendingError = undefined;
      if (err instanceof ContentError || err instanceof ClusterError) return recordFailure(t, app, revision, err.status, writes, req.signal);
      if (!isTransient(err)) return recordFailure(t, app, revision, clusterFailure(err, t), writes, req.signal);
      t.round.invalidate();
      t.applier.discovery.invalidate();
      const status = transientStatus(err, t);
      if (backoff.now() >= deadline || movedOff(req, app, t)) return status.reason === 'ClusterUnreachable' ? failed(failedStatus(app.name, t.spec.name, revision, status)) : recordFailure(t, app, revision, status, writes, req.signal);
      // The cluster answers, so the app's record can say at once why it is being retried.
      if (status.reason !== 'ClusterUnreachable' && writes && recorded !== status.message) {
        recorded = status.message;
        await recordFailure(t, app, revision, status, writes, req.signal);
      }
      // A placed app: its decided clusters are re-read at least every second, so a move off this
      // cluster ends the retries at once (the reconcile onto the new cluster waits for this one).
      const wait = Math.min(backoffDelay(backoff, attempt++), placedByFailover(req, app) ? 1_000 : Number.POSITIVE_INFINITY);
      req.progress?.(`${app.name} on ${t.spec.name}: ${(err as Error).message}; retrying in ${(wait / 1000).toFixed(1)}s`);
      await backoff.sleep(wait, req.signal);
      next = undefined;
    }
  }
}

function placedByFailover(req: ReconcileRequest, app: AppSpec): boolean {
  return req.placement !== undefined && app.placement?.failover !== undefined;
}

/** The failover controller moved the app off this cluster while the round retried it. */
function movedOff(req: ReconcileRequest, app: AppSpec, t: ClusterTarget): boolean {
  return placedByFailover(req, app) && !desiredOf(app, req.stack.clusters, req.placement).some((d) => d.cluster === t.spec.name);
}

/** How a transient failure is named: a webhook with no backend, or the cluster's API itself. */
function transientStatus(err: unknown, t: ClusterTarget): StatusError {
  if (err instanceof AdmissionWebhookError) {
    return { reason: 'AdmissionWebhookFailed', message: `webhook "${err.webhook}" could not be called: ${err.message}`, where: `cluster ${t.spec.name}${err.object ? `: ${err.object}` : ''}` };
  }
  return { reason: 'ClusterUnreachable', message: (err as Error).message };
}

/** Records a failure in the cluster's status (inventory untouched: the previous revision stays). */
async function recordFailure(t: ClusterTarget, app: AppSpec, revision: string, error: StatusError, writes: boolean, signal?: AbortSignal): Promise<SyncResult> {
  const base = { app: app.name, cluster: t.spec.name, revision, sync: 'Failed' as const, drifted: [], unhealthy: [], error };
  if (!writes) return failed({ ...base, health: 'Unknown', objects: 0 });
  try {
    const record = await t.round.record(app.name, signal);
    if (record.corrupt) return failed(corruptStatus(app.name, t.spec.name, record.corrupt));
    if (record.ownedBy) return failed(ownedByOtherStatus(app.name, t.spec.name, t.round.stack, record.ownedBy));
    const status: AppStatus = {
      ...base,
      health: record.status?.health ?? 'Unknown',
      objects: record.inventory.entries.length,
      ...(record.status?.lastAppliedRevision ? { lastAppliedRevision: record.status.lastAppliedRevision } : {}),
    };
    if (JSON.stringify(status) !== JSON.stringify(record.status)) await writeRecord(t.client, app.name, { ...record, status }, signal);
    return failed(status);
  } catch (err) {
    if (isTransient(err)) return failed(failedStatus(app.name, t.spec.name, revision, { reason: 'ClusterUnreachable', message: (err as Error).message }));
    // The failure itself may be why the record cannot be written (a 403): report it anyway.
    if (err instanceof KubeApiError) return failed({ ...base, health: 'Unknown', objects: 0 });
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
