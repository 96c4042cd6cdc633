import type { ResourceInfo } from '../../clusters/discovery.ts';
import { KubeApiError } from '../../clusters/errors.ts';
import { isTransient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { APP_LABEL, PRUNE_ANNOTATION } from '../apply/object-policy.ts';
import type { InventoryEntry } from '../inventory/inventory.ts';
import { planPrune } from '../prune/prune-plan.ts';
import { describeObject, parseKey, type KubeObject, type StatusError } from '../types.ts';
import type { ClusterTarget } from './target.ts';

/**
 * The effects of pruning on one cluster: read the facts the pure plan needs, delete what it
 * allows (namespaced objects first, namespaces last), then wait a bounded time for the
 * deleted objects to be gone. What was refused (403, 409, ...) is `PruneFailed`; what is
 * still there afterwards (a namespace stuck Terminating, a finalizer nobody removes) is
 * `PruneBlocked`. Both stay in the inventory, so the next round tries again.
 */

export interface PruneOutcome {
  /** Entries kept by policy (a namespace that holds objects we do not own). */
  readonly kept: readonly InventoryEntry[];
  /** Entries whose delete was refused or has not finished: retried next round. */
  readonly pending: readonly InventoryEntry[];
  readonly problems: readonly StatusError[];
}

export interface PruneRequest {
  readonly app: string;
  readonly stale: readonly InventoryEntry[];
  /** Objects the app still renders (0 with allowEmpty false refuses to prune everything). */
  readonly desiredCount: number;
  readonly allowEmpty: boolean;
  /** How long to wait for deleted objects to disappear. */
  readonly waitMs: number;
  readonly signal?: AbortSignal;
}

export async function pruneStale(cluster: ClusterTarget, req: PruneRequest): Promise<PruneOutcome> {
  const { applier } = cluster;
  const { signal } = req;
  const infoOf = (e: InventoryEntry) => applier.info({ apiVersion: e.apiVersion, kind: parseKey(e.key).kind, metadata: {} }, signal);
  const facts = new Map<string, { owner: string | undefined | 'absent'; pruneDisabled: boolean }>();
  const infos = new Map<string, ResourceInfo | undefined>();
  for (const e of req.stale) {
    const k = parseKey(e.key);
    const info = await infoOf(e);
    infos.set(e.key, info);
    const live = info ? await applier.get(info, k.namespace || undefined, k.name, signal) : undefined;
    facts.set(e.key, live ? { owner: live.metadata.labels?.[APP_LABEL], pruneDisabled: live.metadata.annotations?.[PRUNE_ANNOTATION] === 'disabled' } : { owner: 'absent', pruneDisabled: false });
  }
  const foreign = new Map<string, number>();
  for (const e of req.stale) {
    const k = parseKey(e.key);
    if (k.group === '' && k.kind === 'Namespace' && facts.get(e.key)?.owner === req.app) foreign.set(k.name, await applier.foreignObjectsIn(k.name, req.app, signal));
  }
  const decisions = planPrune(req.app, req.stale, req.desiredCount, req.allowEmpty, {
    ownerOf: (key) => facts.get(key)?.owner,
    pruneDisabled: (key) => facts.get(key)?.pruneDisabled ?? false,
    foreignObjectsIn: (ns) => foreign.get(ns) ?? 0,
  });
  const staleByKey = new Map(req.stale.map((e) => [e.key, e]));
  const kept: InventoryEntry[] = [];
  const pending: InventoryEntry[] = [];
  const problems: StatusError[] = [];
  const deleted: { entry: InventoryEntry; info: ResourceInfo }[] = [];
  // Namespaced objects first, namespaces last, so a namespace is only deleted once emptied of ours.
  const ordered = [...decisions].sort((a, b) => Number(parseKey(a.key).kind === 'Namespace') - Number(parseKey(b.key).kind === 'Namespace'));
  for (const d of ordered) {
    const entry = staleByKey.get(d.key);
    if (!entry) continue;
    if (d.action === 'keep') kept.push(entry);
    if (d.action !== 'delete') continue;
    const k = parseKey(d.key);
    const info = infos.get(d.key);
    if (!info) continue;
    try {
      signal?.throwIfAborted(); // fenced: no write once the shard's lease is lost
      await applier.delete(info, k.namespace || undefined, k.name, signal);
      deleted.push({ entry, info });
    } catch (err) {
      if (isTransient(err) || !(err instanceof KubeApiError)) throw err;
      pending.push(entry);
      problems.push({ reason: 'PruneFailed', message: `delete of ${describeObject(k)} refused (${err.status} ${err.apiReason}): ${err.message}`, where: `cluster ${cluster.spec.name}: ${describeObject(k)}` });
    }
  }
  for (const { entry, why } of await stillPresent(cluster, deleted, req.waitMs, signal)) {
    const k = parseKey(entry.key);
    pending.push(entry);
    problems.push({ reason: 'PruneBlocked', message: `${describeObject(k)} is still being deleted: ${why}`, where: `cluster ${cluster.spec.name}: ${describeObject(k)}` });
  }
  return { kept, pending, problems };
}

/** Deleted objects that are still there after `waitMs`, with what holds them. */
async function stillPresent(
  cluster: ClusterTarget,
  deleted: readonly { entry: InventoryEntry; info: ResourceInfo }[],
  waitMs: number,
  signal?: AbortSignal,
): Promise<{ entry: InventoryEntry; why: string }[]> {
  let left = [...deleted];
  const lastSeen = new Map<string, KubeObject>();
  await waitFor(
    async () => {
      const next: typeof left = [];
      for (const d of left) {
        const k = parseKey(d.entry.key);
        const live = await cluster.applier.get(d.info, k.namespace || undefined, k.name, signal);
        if (!live) continue;
        lastSeen.set(d.entry.key, live);
        next.push(d);
      }
      left = next;
      return left.length === 0 ? true : undefined;
    },
    { timeoutMs: waitMs, intervalMs: 250, ...(signal ? { signal } : {}) },
  );
  return left.map((d) => ({ entry: d.entry, why: heldBy(lastSeen.get(d.entry.key)) }));
}

/**
 * What keeps an object that was deleted: the conditions it reports (a namespace's
 * NamespaceDeletionDiscoveryFailure first, before the generic "content remaining"), else its finalizers.
 */
export function heldBy(obj: KubeObject | undefined): string {
  if (!obj) return 'deletion in progress';
  const conditions = ((obj['status'] as { conditions?: { type: string; status: string; message?: string }[] } | undefined)?.conditions ?? []).filter((c) => c.status === 'True' && c.message);
  const generic = new Set(['NamespaceContentRemaining', 'NamespaceFinalizersRemaining']);
  const telling = conditions.filter((c) => !generic.has(c.type));
  const shown = telling.length > 0 ? telling : conditions;
  if (shown.length > 0) return shown.map((c) => `${c.type}: ${c.message}`).join('; ');
  if (!obj.metadata.deletionTimestamp) return 'not deleted yet';
  const finalizers = [...((obj.metadata['finalizers'] as string[] | undefined) ?? []), ...((obj['spec'] as { finalizers?: string[] } | undefined)?.finalizers ?? [])];
  return finalizers.length > 0 ? `waiting for finalizers ${finalizers.join(', ')}` : 'deletion in progress';
}
