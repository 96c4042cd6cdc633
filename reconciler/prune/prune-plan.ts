import type { InventoryEntry } from '../inventory/inventory.ts';
import { parseKey } from '../types.ts';

/**
 * What may be deleted: pure rules, so the dangerous part of GitOps is plain to test.
 * Only objects recorded in our inventory AND still carrying our ownership label; never a
 * namespace that holds objects we do not own; never everything because a render came back empty.
 */

export interface LiveFacts {
  /** The live object's ownership label value, or undefined if it is gone or unlabelled. */
  readonly ownerOf: (key: string) => string | undefined | 'absent';
  readonly pruneDisabled: (key: string) => boolean;
  /** Number of objects in a namespace that this app does not own. */
  readonly foreignObjectsIn: (namespace: string) => number;
}

export type PruneDecision =
  | { readonly key: string; readonly action: 'delete' }
  | { readonly key: string; readonly action: 'forget'; readonly why: string }
  | { readonly key: string; readonly action: 'keep'; readonly why: string };

export class EmptyRenderRefused extends Error {}

export function planPrune(
  app: string,
  stale: readonly InventoryEntry[],
  desiredCount: number,
  allowEmpty: boolean,
  live: LiveFacts,
): PruneDecision[] {
  if (desiredCount === 0 && stale.length > 0 && !allowEmpty) {
    throw new EmptyRenderRefused(
      `the render is empty but ${stale.length} object(s) are applied: refusing to prune everything (set allowEmpty: true to allow)`,
    );
  }
  return stale.map((entry): PruneDecision => {
    const owner = live.ownerOf(entry.key);
    if (owner === 'absent') return { key: entry.key, action: 'forget', why: 'already gone' };
    if (owner !== app) return { key: entry.key, action: 'forget', why: `not ours any more (owner label: ${owner ?? 'none'})` };
    if (live.pruneDisabled(entry.key)) return { key: entry.key, action: 'forget', why: 'pruning disabled by annotation' };
    const k = parseKey(entry.key);
    if (k.group === '' && k.kind === 'Namespace') {
      const foreign = live.foreignObjectsIn(k.name);
      if (foreign > 0) return { key: entry.key, action: 'keep', why: `namespace holds ${foreign} object(s) we do not own` };
    }
    return { key: entry.key, action: 'delete' };
  });
}
