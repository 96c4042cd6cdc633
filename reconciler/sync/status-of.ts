import { mergeEntries, type Inventory, type InventoryEntry } from '../inventory/inventory.ts';
import type { AppRecord } from '../status/app-record.ts';
import { describeObject, type AppStatus, type DriftedObject, type HealthState, type StatusError } from '../types.ts';
import { entryOfUnranHook } from './hooks.ts';
import type { PlannedObject } from './target.ts';

/**
 * What a finished sync records: the app's status and its inventory narrowed to what exists.
 * Pure: the facts of the round in, the record out; the caller writes it only if it changed.
 */

export interface SyncFacts {
  readonly app: string;
  readonly cluster: string;
  readonly revision: string;
  readonly detectOnly: boolean;
  readonly previous: AppRecord;
  readonly objects: readonly PlannedObject[];
  /** Keys applied this round → resourceVersion the apply returned. */
  readonly applied: ReadonlyMap<string, string>;
  /** Stale entries that stay tracked (not pruned, or failed to prune). */
  readonly kept: readonly InventoryEntry[];
  readonly errors: readonly StatusError[];
  readonly health: HealthState;
  readonly unhealthy: readonly string[];
  /** Helm hooks due this round that have not run: they keep their previous entry (or an empty digest). */
  readonly unranHooks?: ReadonlySet<string>;
}

const PRUNE_REASONS: ReadonlySet<StatusError['reason']> = new Set(['PruneFailed', 'PruneBlocked']);

export function statusOf(f: SyncFacts): { status: AppStatus; inventory: Inventory } {
  // A prune that did not finish fails the sync but the revision was applied; anything else leaves the previous one.
  const failed = f.errors.some((e) => !PRUNE_REASONS.has(e.reason));
  const pruneUnfinished = f.errors.length > 0 && !failed;
  const previousEntries = new Map(f.previous.inventory.entries.map((e) => [e.key, e]));
  const entries = mergeEntries(
    f.kept,
    f.objects.map((p) => {
      if (f.unranHooks?.has(p.key)) return entryOfUnranHook(p, previousEntries);
      const rv = f.applied.get(p.key) ?? (p.change === 'unchanged' ? p.liveRv : undefined) ?? previousEntries.get(p.key)?.rv;
      return { key: p.key, apiVersion: p.object.apiVersion, digest: p.digest, ...(rv ? { rv } : {}) };
    }),
  );
  const drifted: DriftedObject[] = f.objects.filter((p) => p.change === 'drifted').map((p) => ({ object: describeObject(p.object), fields: p.drift }));
  const health: HealthState = failed ? 'Degraded' : f.health;
  const error: StatusError | undefined =
    f.errors[0] ?? (health === 'Degraded' || health === 'Progressing' ? { reason: 'HealthCheckFailed', message: f.unhealthy.join('; ') } : undefined);
  const lastApplied = failed ? f.previous.status?.lastAppliedRevision : f.revision;
  const status: AppStatus = {
    app: f.app,
    cluster: f.cluster,
    revision: f.revision,
    sync: failed || pruneUnfinished ? 'Failed' : f.detectOnly && drifted.length > 0 ? 'OutOfSync' : 'Synced',
    health,
    drifted: f.detectOnly ? drifted : [],
    unhealthy: failed ? [] : f.unhealthy,
    objects: f.objects.length,
    ...(error ? { error } : {}),
    ...(lastApplied ? { lastAppliedRevision: lastApplied } : {}),
  };
  return { status, inventory: { revision: failed ? f.previous.inventory.revision : f.revision, entries } };
}
