import type { KubeObject } from '../types.ts';
import { largestRemainder } from './divide.ts';
import type { DesiredCluster } from './types.ts';

const WORKLOADS = new Set(['Deployment', 'StatefulSet']);

/**
 * Render-side transform for `replicas: Divided`: the objects for `cluster` with each Deployment/StatefulSet's
 * `spec.replicas` set to this cluster's share. Each workload's own count is split in the proportions of the
 * decision's per-cluster replicas (largest remainder, ties by cluster name), so every workload keeps its total and a
 * single workload gets exactly the decided numbers. Objects are not mutated. Pure.
 */
export function divideWorkloads(objects: readonly KubeObject[], cluster: string, desired: readonly DesiredCluster[]): KubeObject[] {
  const shares = [...desired].filter((d) => d.replicas !== undefined).sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  if (!shares.some((d) => d.cluster === cluster)) return [...objects];
  const weights = shares.map((d) => ({ cluster: d.cluster, weight: d.replicas ?? 0 }));
  return objects.map((o) => {
    if (!WORKLOADS.has(o.kind)) return o;
    const spec = (o['spec'] ?? {}) as Record<string, unknown>;
    const total = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
    const mine = largestRemainder(total, weights).get(cluster) ?? 0;
    return { ...o, spec: { ...spec, replicas: mine } };
  });
}
