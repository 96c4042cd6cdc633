import { isTransient } from '../clusters/kube-client.ts';
import { deleteRecord, writeRecord } from './status/app-record.ts';
import { pruneStale } from './sync/prune.ts';
import { failedStatus, type SyncResult } from './sync/result.ts';
import type { ClusterTarget } from './sync/target.ts';
import type { AppStatus } from './types.ts';

/**
 * Apps that left the stack (or no longer target a cluster): their objects are pruned and their
 * record deleted, like Flux with `prune: true` — unless the stack lists them in `gitops.orphan`,
 * then only the record goes and the objects stay. Only records this stack wrote are touched.
 * A prune that does not finish keeps the record (with what is left and why), so `infra status`
 * lists the app until it is done and the next round tries again.
 */

/** How long a removal waits for deleted objects (namespaces) to be gone before reporting them blocked. */
export const REMOVAL_WAIT_MS = 30_000;

export interface RemovalRequest {
  readonly stack: string;
  readonly orphan: ReadonlySet<string>;
  /** Apps placed on each cluster this round (by cluster name). */
  readonly placed: ReadonlyMap<string, ReadonlySet<string>>;
  /** Departed apps to leave alone (the add-ons, when the caller does not know them). */
  readonly keep?: (app: string) => boolean;
  readonly writes: boolean;
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Replicas: which departed apps this process prunes, and the signal fencing those writes
   * (undefined: another replica's). Without it, every departed app is pruned under `signal`.
   */
  readonly owner?: (app: string) => { readonly signal?: AbortSignal } | undefined;
}

export async function removeDeparted(targets: readonly ClusterTarget[], req: RemovalRequest): Promise<SyncResult[]> {
  const out: SyncResult[] = [];
  for (const t of targets) {
    try {
      out.push(...(await removeOn(t, req)));
    } catch (err) {
      if (!isTransient(err)) throw err;
      // An unreachable cluster: its departed apps wait for the next round.
    }
  }
  return out;
}

async function removeOn(t: ClusterTarget, req: RemovalRequest): Promise<SyncResult[]> {
  const records = await t.round.allRecords(req.signal);
  const placed = req.placed.get(t.spec.name) ?? new Set<string>();
  const departed = [...records].filter(([app, r]) => r.stack === req.stack && !placed.has(app) && !req.keep?.(app)).sort(([a], [b]) => a.localeCompare(b));
  const out: SyncResult[] = [];
  for (const [app, record] of departed) {
    const cluster = t.spec.name;
    const revision = record.inventory.revision;
    if (record.corrupt) continue; // a corrupt record is never touched; `infra status` shows it
    const mine = req.owner ? req.owner(app) : {};
    if (!mine) continue; // another replica holds the app's shard: it prunes it
    const signal = mine.signal && req.signal ? AbortSignal.any([mine.signal, req.signal]) : (mine.signal ?? req.signal);
    if (signal?.aborted) continue;
    try {
      const orphan = req.orphan.has(app);
      if (!req.writes) {
        out.push({ kind: 'planned', app, cluster, plan: { app, cluster, revision, apply: [], prune: orphan ? [] : record.inventory.entries.map((e) => e.key) } });
        continue;
      }
      const gone: AppStatus = { app, cluster, revision, sync: 'Synced', health: 'Healthy', drifted: [], unhealthy: [], objects: 0 };
      if (orphan) {
        await deleteRecord(t.client, app, signal);
        out.push({ kind: 'removed', app, cluster, status: gone });
        continue;
      }
      const pruned = await pruneStale(t, { app, stale: record.inventory.entries, desiredCount: 0, allowEmpty: true, waitMs: req.waitMs ?? REMOVAL_WAIT_MS, ...(signal ? { signal } : {}) });
      if (pruned.pending.length === 0) {
        await deleteRecord(t.client, app, signal);
        out.push({ kind: 'removed', app, cluster, status: gone });
        continue;
      }
      const status = { ...failedStatus(app, cluster, revision, pruned.problems[0] ?? { reason: 'PruneFailed', message: 'objects left' }), objects: pruned.pending.length };
      await writeRecord(t.client, app, { inventory: { revision, entries: pruned.pending }, status, stack: req.stack }, signal);
      out.push({ kind: 'removed', app, cluster, status });
    } catch (err) {
      // The app's shard was lost mid-prune (a fenced stop): its new holder prunes the rest.
      if (mine.signal?.aborted && !req.signal?.aborted) continue;
      throw err;
    }
  }
  return out;
}
