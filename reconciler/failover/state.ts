/**
 * The placement state of an app as the failover controller stores it (issue 12 contract,
 * /docs: reconciler/place/ owns the engine that computes it). Mirrored here until the engine's
 * types land; the shapes are the contract's, so the switch is an import change.
 */

export interface MoveRecord {
  readonly from?: string;
  readonly to?: string;
  readonly reason: 'failover' | 'failback' | 'placement' | 'purge';
  /** ms since the epoch */
  readonly at: number;
  readonly detail: string;
}

export interface PendingMove {
  readonly from: string;
  readonly to?: string;
  readonly reason: string;
  /** When the toleration clock expires (ms since the epoch). */
  readonly dueAt?: number;
  readonly waitingFor?: string;
}

export interface PlacementState {
  readonly app: string;
  /** Where the app is applied now. */
  readonly clusters: readonly string[];
  /** Where the policy wants it when every cluster is Ready. */
  readonly home: readonly string[];
  /** History, newest last, capped. */
  readonly moves: readonly MoveRecord[];
  readonly pending: readonly PendingMove[];
  readonly revision?: number;
  /** Why the app cannot move (e.g. it owns PVCs and has no `data` policy); the last decision's. */
  readonly blocked?: string;
  /** Clusters the app still has to be removed from (a purge decided but not yet done). */
  readonly purging?: readonly string[];
}
