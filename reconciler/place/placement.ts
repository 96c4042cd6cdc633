import type { AppSpec, ClusterSpec, LabelSelector } from '../../stacks/gitops.ts';

/** Which clusters an app goes to: the ones it names plus the ones its selector matches. Pure. */
export function placeApp(app: AppSpec, clusters: readonly ClusterSpec[]): ClusterSpec[] {
  const named = new Set(app.targets.clusters);
  return clusters.filter((c) => named.has(c.name) || (app.targets.selector !== undefined && matches(app.targets.selector, c.labels)));
}

export function matches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v);
}
