/**
 * The inventory: what an app has applied to one cluster, kept in that cluster. Pure set
 * operations; the store reads and writes it.
 */

export interface InventoryEntry {
  /** group/kind/namespace/name */
  readonly key: string;
  readonly apiVersion: string;
  /** Digest of the desired manifest last applied. */
  readonly digest: string;
  /** resourceVersion right after our last apply (unchanged since → no drift, no work). */
  readonly rv?: string;
}

export interface Inventory {
  readonly revision: string;
  readonly entries: readonly InventoryEntry[];
}

export const EMPTY_INVENTORY: Inventory = { revision: '', entries: [] };

export function byKey(inv: Inventory): Map<string, InventoryEntry> {
  return new Map(inv.entries.map((e) => [e.key, e]));
}

/** Entries of `old` whose keys are not desired any more: candidates for pruning. */
export function staleEntries(old: Inventory, desiredKeys: ReadonlySet<string>): InventoryEntry[] {
  return old.entries.filter((e) => !desiredKeys.has(e.key));
}

/** Union by key; entries of `b` win. Sorted, so equal sets serialize equally. */
export function mergeEntries(a: readonly InventoryEntry[], b: readonly InventoryEntry[]): InventoryEntry[] {
  const m = new Map(a.map((e) => [e.key, e]));
  for (const e of b) m.set(e.key, e);
  return [...m.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

export function sameInventory(a: Inventory, b: Inventory): boolean {
  return a.revision === b.revision && JSON.stringify(a.entries) === JSON.stringify(b.entries);
}
