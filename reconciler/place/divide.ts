import type { Resources } from './types.ts';

export interface DivideCandidate {
  readonly cluster: string;
  readonly weight: number;
  /** Free capacity; absent: unknown (not a limit). */
  readonly free?: Resources;
}

/** Split `total` replicas by weight (largest remainder), capped by each cluster's free capacity. Pure. (Stub.) */
export function divideReplicas(total: number, candidates: readonly DivideCandidate[], _perReplica: Resources): Map<string, number> {
  const out = new Map<string, number>();
  candidates.forEach((c, i) => out.set(c.cluster, i === 0 ? total : 0));
  return out;
}
