import { replicasThatFit } from './capacity.ts';
import type { Resources } from './types.ts';

export interface DivideCandidate {
  readonly cluster: string;
  readonly weight: number;
  /** Free capacity; absent: unknown (not a limit). */
  readonly free?: Resources;
}

/**
 * Split `total` replicas by weight (largest remainder), capped by each cluster's free capacity; what does not fit
 * goes to clusters that still have room (by weight again). If no cluster has room the rest is split by weight
 * ignoring capacity, so the total is never lost (those pods wait as Pending). Ties are broken by cluster name. Pure.
 */
export function divideReplicas(total: number, candidates: readonly DivideCandidate[], perReplica: Resources): Map<string, number> {
  const sorted = [...candidates].sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : 0));
  const out = new Map(sorted.map((c) => [c.cluster, 0]));
  const room = new Map(sorted.map((c) => [c.cluster, c.free ? replicasThatFit(c.free, perReplica) : Infinity]));
  let left = Math.max(0, Math.floor(total));
  while (left > 0) {
    const open = sorted.filter((c) => (room.get(c.cluster) ?? 0) > 0);
    if (open.length === 0) break;
    const share = largestRemainder(left, open);
    let placed = 0;
    for (const c of open) {
      const n = Math.min(share.get(c.cluster) ?? 0, room.get(c.cluster) ?? 0);
      out.set(c.cluster, (out.get(c.cluster) ?? 0) + n);
      room.set(c.cluster, (room.get(c.cluster) ?? 0) - n);
      placed += n;
    }
    left -= placed; // > 0: the shares sum to `left` and every open cluster has room for at least one
  }
  if (left > 0 && sorted.length > 0) {
    for (const [cluster, n] of largestRemainder(left, sorted)) out.set(cluster, (out.get(cluster) ?? 0) + n);
  }
  return out;
}

/** Hamilton apportionment: floors first, then the largest remainders; ties by name (input is name-sorted). */
export function largestRemainder(total: number, candidates: readonly { cluster: string; weight: number }[]): Map<string, number> {
  const weights = candidates.map((c) => Math.max(0, c.weight));
  const sum = weights.reduce((a, b) => a + b, 0);
  const eff = sum > 0 ? weights : candidates.map(() => 1);
  const effSum = sum > 0 ? sum : candidates.length;
  const exact = eff.map((w) => (total * w) / effSum);
  const floors = exact.map(Math.floor);
  let rest = total - floors.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (rest <= 0) break;
    floors[i] = (floors[i] ?? 0) + 1;
    rest -= 1;
  }
  return new Map(candidates.map((c, i) => [c.cluster, floors[i] ?? 0]));
}
