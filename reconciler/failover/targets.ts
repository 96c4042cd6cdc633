import type { AppSpec, ClusterSpec } from '../../stacks/gitops.ts';
import { decide } from '../place/decide.ts';
import { placeApp } from '../place/placement.ts';
import type { DesiredCluster } from '../place/types.ts';

/**
 * Where a round applies an app, and which clusters' copies a round may never prune. Apps
 * without `placement`: every candidate, as before. Apps with `placement`: the clusters the
 * placement view says (serve: the stored placement state), or the initial placement — `decide`
 * with every cluster assumed Ready and no history (`infra reconcile` without serve: no moves).
 * A round's removal of departed apps keeps every candidate of a placed app: only the failover
 * controller removes an app from a cluster that stays a candidate (after its replacement is Healthy).
 */

export interface PlacementView {
  /** The clusters an app with `placement` is applied to now; undefined: not known (initial placement). */
  desired(app: string): readonly DesiredCluster[] | undefined;
}

export function desiredOf(app: AppSpec, clusters: readonly ClusterSpec[], view?: PlacementView): readonly DesiredCluster[] {
  if (!app.placement) return placeApp(app, clusters).map((c) => ({ cluster: c.name }));
  return view?.desired(app.name) ?? initialPlacement(app, clusters);
}

/** The clusters a round applies `app` to, in stack order. */
export function applyTargets(app: AppSpec, clusters: readonly ClusterSpec[], view?: PlacementView): ClusterSpec[] {
  const names = new Set(desiredOf(app, clusters, view).map((d) => d.cluster));
  return clusters.filter((c) => names.has(c.name));
}

/** The clusters whose copy of `app` a round's removal keeps. */
export function keptTargets(app: AppSpec, clusters: readonly ClusterSpec[]): ClusterSpec[] {
  return placeApp(app, clusters);
}

export function initialPlacement(app: AppSpec, clusters: readonly ClusterSpec[], now = Date.now()): readonly DesiredCluster[] {
  const zero = { cpuMilli: 0, memoryBytes: 0, pods: 0 };
  return decide({ app, clusters, health: new Map(), capacity: new Map(), demand: { perReplica: zero, replicas: 0, ownsPvc: false }, appHealth: new Map(), now }).desired;
}
