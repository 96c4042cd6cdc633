import type { KubeObject } from '../types.ts';
import type { AppDemand } from './types.ts';

/** What the app's rendered objects ask of a cluster. Pure. (Stub.) */
export function demandOf(_objects: readonly KubeObject[]): AppDemand {
  return { perReplica: { cpuMilli: 0, memoryBytes: 0, pods: 1 }, replicas: 0, ownsPvc: false };
}
