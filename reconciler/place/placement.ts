import type { AppSpec, ClusterSpec, LabelSelector, SelectorRequirement } from '../../stacks/gitops.ts';

/** Which clusters an app goes to: the ones it names plus the ones its selector matches. Pure. */
export function placeApp(app: AppSpec, clusters: readonly ClusterSpec[]): ClusterSpec[] {
  const named = new Set(app.targets.clusters);
  return clusters.filter((c) => named.has(c.name) || (app.targets.selector !== undefined && matches(app.targets.selector, c.labels)));
}

export function matches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v) && (selector.matchExpressions ?? []).every((e) => requirementHolds(e, labels));
}

function requirementHolds(e: SelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, e.key);
  switch (e.operator) {
    case 'In':
      return has && e.values.includes(labels[e.key] ?? '');
    case 'NotIn':
      return !has || !e.values.includes(labels[e.key] ?? '');
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
  }
}
