/** The placement state of an app as the failover controller stores it (reconciler/place/ computes it). */
import type { DesiredCluster, PlacementState as EngineState } from '../place/types.ts';

export type { MoveRecord, PendingMove } from '../place/types.ts';

/** The engine's state plus what the controller must remember to finish a move after a restart. */
export interface PlacementState extends EngineState {
  /** The clusters the last decision applies the app to (Divided: with their share). */
  readonly desired?: readonly DesiredCluster[];
  /** Why the app cannot move (e.g. it owns PVCs and has no `data` policy); the last decision's. */
  readonly blocked?: string;
  /** Clusters the app still has to be removed from (a purge decided but not yet done). */
  readonly purging?: readonly string[];
  /** The app's inventory held PersistentVolumeClaims when last read (kept while its cluster is down). */
  readonly ownsPvc?: boolean;
  /** Candidates the last decision left out for lack of room, with the rule (`capacity: needs ...`), by cluster. */
  readonly capacity?: Readonly<Record<string, string>>;
}
