import type { AppStatus, StatusError } from '../types.ts';

/** What a round did for one app on one cluster. */

export interface PlannedChange {
  readonly app: string;
  readonly cluster: string;
  readonly revision: string;
  readonly apply: readonly { object: string; change: 'create' | 'update' | 'drift'; fields: readonly string[] }[];
  readonly prune: readonly string[];
  readonly error?: StatusError;
}

/**
 * `synced`: the sync ran to its end (its status may still report apply, prune or health errors);
 * `planned`: diff, what a sync would change; `failed`: stopped before a sync (source, render,
 * validation, dependency, this cluster's error, unreachable); `removed`: an app that left the
 * stack, pruned (or orphaned) on this cluster — its status says whether that finished.
 */
export type SyncResult =
  | { readonly kind: 'synced'; readonly app: string; readonly cluster: string; readonly status: AppStatus }
  | { readonly kind: 'planned'; readonly app: string; readonly cluster: string; readonly plan: PlannedChange }
  | { readonly kind: 'failed'; readonly app: string; readonly cluster: string; readonly status: AppStatus }
  | { readonly kind: 'removed'; readonly app: string; readonly cluster: string; readonly status: AppStatus };

export function failed(status: AppStatus): SyncResult {
  return { kind: 'failed', app: status.app, cluster: status.cluster, status };
}

/** A status for an app × cluster where nothing could be read or written. */
export function failedStatus(app: string, cluster: string, revision: string, error: StatusError): AppStatus {
  return { app, cluster, revision, sync: 'Failed', health: 'Unknown', drifted: [], unhealthy: [], objects: 0, error };
}
