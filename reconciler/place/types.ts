/** The shapes the pure placement/failover engine talks through (the probes' types come from clusters/health/types.ts). No I/O here. */
import type { AppSpec, ClusterSpec } from '../../stacks/gitops.ts';

export type { ClusterCapacity, ClusterHealth, HealthState, Resources } from '../../clusters/health/types.ts';
import type { ClusterCapacity, ClusterHealth, Resources } from '../../clusters/health/types.ts';

/** What one copy of the app needs, from its rendered manifests. */
export interface AppDemand {
  readonly perReplica: Resources;
  readonly replicas: number;
  readonly ownsPvc: boolean;
}

export type AppHealthState = 'Healthy' | 'Progressing' | 'Degraded' | 'Unknown';

export type MoveReason = 'failover' | 'failback' | 'placement' | 'purge';

export interface MoveRecord {
  readonly from?: string;
  readonly to?: string;
  readonly reason: MoveReason;
  readonly at: number;
  readonly detail: string;
}

export interface PendingMove {
  readonly from: string;
  readonly to?: string;
  readonly reason: string;
  /** When the toleration clock expires (ms). */
  readonly dueAt?: number;
  readonly waitingFor?: string;
}

/** Per app, persisted by `failover` (CAS) before anything is acted on. */
export interface PlacementState {
  readonly app: string;
  /** Where the app is applied now. */
  readonly clusters: readonly string[];
  /** Where policy wants it when every cluster is Ready. */
  readonly home: readonly string[];
  /** History, newest last, capped. */
  readonly moves: readonly MoveRecord[];
  readonly pending: readonly PendingMove[];
  readonly revision?: number;
  /** Where the app is reconciled (the last `desired`); `clusters` minus these are left behind, waiting to be purged. Absent: all of `clusters`. */
  readonly active?: readonly string[];
  /** Divided: the replicas last given to each cluster (their requests are already in that cluster's capacity). */
  readonly replicas?: Readonly<Record<string, number>>;
}

export interface DesiredCluster {
  readonly cluster: string;
  /** Divided only: this cluster's share of the workload replicas. */
  readonly replicas?: number;
}

export interface Explanation {
  readonly cluster: string;
  readonly chosen: boolean;
  /** The rule that chose or filtered it, e.g. `health: NotReady since ...`, `capacity: ...`, `maxClusters: 1`. */
  readonly rule: string;
}

export interface Decision {
  readonly desired: readonly DesiredCluster[];
  readonly explain: readonly Explanation[];
  /** Moves made by this decision (also appended to next.moves). */
  readonly moves: readonly MoveRecord[];
  /** Remove the app from these clusters now. */
  readonly purge: readonly string[];
  readonly pending: readonly PendingMove[];
  /** Why the app cannot be moved where policy would move it (it stays where it is). */
  readonly blocked?: string;
  readonly next: PlacementState;
}

export interface DecideInput {
  readonly app: AppSpec;
  readonly clusters: readonly ClusterSpec[];
  /** Missing entry: the cluster is assumed Ready (e.g. `infra reconcile` without serve). */
  readonly health: ReadonlyMap<string, ClusterHealth>;
  /** Missing entry: capacity unknown, not a filter. */
  readonly capacity: ReadonlyMap<string, ClusterCapacity>;
  readonly demand: AppDemand;
  readonly state?: PlacementState;
  /** The app's health per cluster it is applied on. */
  readonly appHealth: ReadonlyMap<string, AppHealthState>;
  readonly now: number;
}
