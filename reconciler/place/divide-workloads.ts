import type { KubeObject } from '../types.ts';
import type { DesiredCluster } from './types.ts';

/**
 * Render-side transform for `replicas: Divided`: the objects for `cluster` with each Deployment/StatefulSet's
 * `spec.replicas` set to this cluster's share. Objects are not mutated. (Stub.)
 */
export function divideWorkloads(objects: readonly KubeObject[], _cluster: string, _desired: readonly DesiredCluster[]): KubeObject[] {
  return [...objects];
}
