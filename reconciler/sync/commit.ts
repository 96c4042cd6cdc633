import { isTransient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { hasHealthSignal, healthOf, type ObjectHealth } from '../health/kstatus.ts';
import { mergeEntries, sameInventory, staleEntries, type Inventory, type InventoryEntry } from '../inventory/inventory.ts';
import { mapLimit } from '../pool.ts';
import { writeRecord } from '../status/app-record.ts';
import { describeObject, type AppStatus, type HealthState } from '../types.ts';
import { entryOfUnranHook, planHooks, runHooks } from './hooks.ts';
import { pruneStale } from './prune.ts';
import { applyStaged } from './staged-apply.ts';
import { statusOf } from './status-of.ts';
import type { PlannedObject, PreparedSync } from './target.ts';

/**
 * The second half of a sync: staged server-side apply, inventory, prune, health, status. What
 * the record does not track yet is noted in the cluster's journal before the first write (one
 * journal write for all the apps ready at that moment), and the record is written once at the
 * end, so a crash at any point leaves every object we created tracked (by the record or the
 * journal) and the next run repairs the rest.
 */
export async function commitSync(prepared: PreparedSync, options: { concurrency: number; signal?: AbortSignal }): Promise<AppStatus> {
  const { app, cluster, record, revision } = prepared;
  const signal = options.signal;
  const detectOnly = app.drift === 'detect';

  // Helm hooks run at their phase (sync/hooks.ts); one that has not run yet keeps its previous
  // inventory entry (or one with an empty digest), so a crash before it ran makes the next round run it.
  const hooks = planHooks(prepared);
  const hooksRan = new Set<string>();
  const previousEntries = new Map(record.inventory.entries.map((e) => [e.key, e]));
  const unranHook = (key: string) => hooks.pending.has(key) && !hooksRan.has(key);

  // 1. Track everything we are about to create before creating it: noted in the journal (with
  //    other apps' notes), or, for an app too big for the journal, in its widened record.
  //    Notes an unfinished earlier round left count as tracked: candidates to prune.
  const pending = await cluster.journal.pending(app.name, signal);
  const tracked = new Set([...record.inventory.entries.map((e) => e.key), ...pending.map((p) => p.key)]);
  const fresh = prepared.objects.filter((p) => !tracked.has(p.key));
  const widened: Inventory = {
    revision: record.inventory.revision,
    entries: mergeEntries(
      prepared.objects.map((p) => (unranHook(p.key) ? entryOfUnranHook(p, previousEntries) : { key: p.key, apiVersion: p.object.apiVersion, digest: p.digest })),
      mergeEntries(pending.map((p) => ({ ...p, digest: '' })), record.inventory.entries),
    ),
  };
  if (fresh.length > 0) {
    const noted = await cluster.journal.intend(app.name, [...pending, ...fresh.map((p) => ({ key: p.key, apiVersion: p.object.apiVersion }))], signal);
    signal?.throwIfAborted(); // fenced: no write once the shard's lease is lost
    if (!noted) await writeRecord(cluster.client, app.name, { ...record, inventory: widened }, signal);
  }

  // 2. Staged apply; pre hooks after CRDs and Namespaces, before the release's other objects.
  const hookOptions = { timeoutMs: app.timeoutMs, ...(signal ? { signal } : {}) };
  const { applied, healthyOnApply, generations, errors: applyErrors } = await applyStaged(prepared, {
    ...options,
    skip: (p) => hooks.isHook(p),
    beforeNamespaced: async () => {
      const pre = await runHooks(prepared, hooks.pre, hookOptions);
      for (const k of pre.succeeded) hooksRan.add(k);
      return pre.error ? [pre.error] : [];
    },
  });
  const errors = [...applyErrors];

  // 3. Prune what left Git (only when everything applied: never prune on a half-applied revision).
  const stale = staleEntries(widened, new Set(prepared.objects.map((p) => p.key)));
  const kept: InventoryEntry[] = [];
  if (errors.length === 0 && app.prune && stale.length > 0) {
    try {
      const pruned = await pruneStale(cluster, { app: app.name, stale, desiredCount: prepared.objects.length, allowEmpty: app.allowEmpty, waitMs: app.timeoutMs, ...(signal ? { signal } : {}) });
      kept.push(...pruned.kept, ...pruned.pending);
      errors.push(...pruned.problems);
    } catch (err) {
      if (isTransient(err)) throw err;
      errors.push({ reason: 'PruneFailed', message: (err as Error).message });
      kept.push(...stale);
    }
  } else {
    kept.push(...stale);
  }

  // 4. Health of every object, every round: what this round applied is polled; the rest is read
  //    from the round's one list per kind (a Deployment that lost its replicas shows here).
  const { health, unhealthy, seen } = errors.some((e) => e.reason !== 'PruneBlocked' && e.reason !== 'PruneFailed')
    ? { health: 'Degraded' as HealthState, unhealthy: [], seen: new Map<string, { rv: string; generation?: number }>() }
    : await healthOfAll(prepared, applied, healthyOnApply, app.wait ? app.timeoutMs : 0, (p) => hooks.isHook(p), signal);
  // Post hooks once the release is healthy.
  if (errors.length === 0 && health === 'Healthy' && hooks.post.length > 0) {
    const post = await runHooks(prepared, hooks.post, hookOptions);
    for (const k of post.succeeded) hooksRan.add(k);
    if (post.error) errors.push(post.error);
  }
  // A controller's status updates after our apply (a Deployment becoming Available) are not drift:
  // record the resourceVersion seen healthy, if the spec is still the one we applied, so the next
  // round is a no-op instead of a dry-run and a record write.
  const settled = new Map(applied);
  for (const [key, s] of seen) if (applied.has(key) && s.generation !== undefined && s.generation === generations.get(key)) settled.set(key, s.rv);

  // 5. Record: inventory narrowed to what exists, status.
  const { status, inventory } = statusOf({ app: app.name, cluster: cluster.spec.name, revision, detectOnly, previous: record, objects: prepared.objects, applied: settled, kept, errors, health, unhealthy, unranHooks: new Set([...hooks.pending].filter(unranHook)) });
  if (!sameInventory(inventory, record.inventory) || JSON.stringify(status) !== JSON.stringify(record.status) || (await cluster.round.allRecords(signal)).get(app.name)?.stack !== record.stack) {
    signal?.throwIfAborted();
    await writeRecord(cluster.client, app.name, { ...record, inventory, status }, signal);
  }
  cluster.journal.settle(app.name);
  return status;
}

/**
 * Objects this round applied are polled until healthy (up to the app's timeout when it waits);
 * the others are judged from the round's one list per kind, at once, without waiting: a round
 * with nothing to change stays cheap, and still tells the truth.
 */
async function healthOfAll(
  prepared: PreparedSync,
  applied: ReadonlyMap<string, string>,
  healthyOnApply: ReadonlySet<string>,
  timeoutMs: number,
  excluded: (p: PlannedObject) => boolean,
  signal?: AbortSignal,
): Promise<HealthResult> {
  const poll: PlannedObject[] = [];
  const listed: { p: PlannedObject; h: ObjectHealth }[] = [];
  for (const p of prepared.objects) {
    if (!p.info || p.change === 'skip' || excluded(p) || healthyOnApply.has(p.key) || !hasHealthSignal(p.object.kind)) continue;
    if (applied.has(p.key)) {
      poll.push(p);
      continue;
    }
    const h = (await prepared.cluster.round.healthOf(p.info, signal)).get(p.key) ?? { status: 'InProgress' as const, message: 'not found' };
    if (h.status !== 'Current') listed.push({ p, h });
  }
  const polled = await checkHealth(prepared, poll, timeoutMs, signal);
  if (listed.length === 0) return polled;
  const unhealthy = [...polled.unhealthy, ...listed.map((l) => `${describeObject(l.p.object)}: ${l.h.message}`)];
  const degraded = polled.health === 'Degraded' || listed.some((l) => l.h.status === 'Failed');
  return { health: degraded ? 'Degraded' : 'Progressing', unhealthy, seen: polled.seen };
}

interface HealthResult {
  readonly health: HealthState;
  readonly unhealthy: string[];
  /** resourceVersion and generation of the objects polled, as last seen healthy. */
  readonly seen: ReadonlyMap<string, { rv: string; generation?: number }>;
}

async function checkHealth(prepared: PreparedSync, objects: readonly PlannedObject[], timeoutMs: number, signal?: AbortSignal): Promise<HealthResult> {
  let last: string[] = [];
  let failed = false;
  const seen = new Map<string, { rv: string; generation?: number }>();
  const verdict = await waitFor(
    async () => {
      const results = await mapLimit(objects, 16, async (p) => {
        const live = p.info ? await prepared.cluster.applier.get(p.info, p.object.metadata.namespace, p.object.metadata.name ?? '', signal) : undefined;
        if (live?.metadata.resourceVersion) seen.set(p.key, { rv: live.metadata.resourceVersion, ...(live.metadata.generation !== undefined ? { generation: live.metadata.generation } : {}) });
        return live ? { p, h: healthOf(live) } : { p, h: { status: 'InProgress' as const, message: 'not found' } };
      });
      last = [];
      failed = false;
      for (const r of results) {
        if (r.status === 'rejected') throw r.reason;
        if (r.value.h.status !== 'Current') last.push(`${describeObject(r.value.p.object)}: ${r.value.h.message}`);
        if (r.value.h.status === 'Failed') failed = true;
      }
      return last.length === 0 || failed ? true : undefined;
    },
    { timeoutMs, intervalMs: 250, ...(signal ? { signal } : {}) },
  );
  if (verdict && last.length === 0) return { health: 'Healthy', unhealthy: [], seen };
  return { health: failed ? 'Degraded' : 'Progressing', unhealthy: last, seen: new Map() };
}
