import type { ClusterCapacity, Resources } from './types.ts';

export const NO_RESOURCES: Resources = { cpuMilli: 0, memoryBytes: 0, pods: 0 };

export function freeOf(c: ClusterCapacity): Resources {
  return {
    cpuMilli: c.allocatable.cpuMilli - c.requested.cpuMilli,
    memoryBytes: c.allocatable.memoryBytes - c.requested.memoryBytes,
    pods: c.allocatable.pods - c.requested.pods,
  };
}

export function plus(a: Resources, b: Resources, times = 1): Resources {
  return { cpuMilli: a.cpuMilli + b.cpuMilli * times, memoryBytes: a.memoryBytes + b.memoryBytes * times, pods: a.pods + b.pods * times };
}

/** How many replicas needing `per` fit into `free` (Infinity when `per` asks for nothing). */
export function replicasThatFit(free: Resources, per: Resources): number {
  let n = Infinity;
  for (const k of ['cpuMilli', 'memoryBytes', 'pods'] as const) {
    if (per[k] > 0) n = Math.min(n, Math.max(0, Math.floor(free[k] / per[k])));
  }
  return n;
}

/** The first resource that is short, for explanations: `cpu 500m needed, 200m free`. */
export function shortage(free: Resources, per: Resources, replicas: number): string {
  for (const [k, unit] of [['cpuMilli', 'm cpu'], ['memoryBytes', ' bytes memory'], ['pods', ' pods']] as const) {
    const need = per[k] * replicas;
    if (need > free[k]) return `needs ${need}${unit} for ${replicas} replica(s), ${Math.max(0, free[k])}${unit} free`;
  }
  return 'fits';
}
