import type { ClusterSpec, PlacementSpec } from '../../stacks/gitops.ts';

/** Candidates in policy order: `preference` order (unlisted last), or `weights` (heaviest first), then by name. */
export function rank(candidates: readonly ClusterSpec[], policy: PlacementSpec): ClusterSpec[] {
  const pref = policy.preference ?? [];
  const score = (c: ClusterSpec): number => {
    if (policy.weights) return -(policy.weights[c.name] ?? 0);
    const i = pref.indexOf(c.name);
    return i < 0 ? pref.length : i;
  };
  return [...candidates].sort((a, b) => score(a) - score(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Why a ranked cluster is wanted, for explanations. */
export function rankRule(c: ClusterSpec, policy: PlacementSpec): string {
  if (policy.weights) return `weight ${policy.weights[c.name] ?? 0}`;
  const i = (policy.preference ?? []).indexOf(c.name);
  return i >= 0 ? `preference #${i + 1}` : policy.preference ? 'not in preference (after the listed ones)' : 'candidate';
}

export interface Selection {
  readonly chosen: string[];
  /** Clusters passed over, with the rule (spreadBy / maxClusters). */
  readonly rejected: Map<string, string>;
}

/**
 * Walks `ranked` and keeps clusters while `maxClusters` allows, at most one per `spreadBy` value. `already` are
 * clusters kept from before: they count against both rules. Pure.
 */
export function pick(ranked: readonly ClusterSpec[], policy: PlacementSpec, already: readonly ClusterSpec[] = [], max = policy.maxClusters ?? Infinity): Selection {
  const chosen: string[] = [];
  const rejected = new Map<string, string>();
  const taken = new Map<string, string>();
  const valueOf = (c: ClusterSpec) => (policy.spreadBy ? (c.labels[policy.spreadBy] ?? '') : undefined);
  for (const c of already) {
    const v = valueOf(c);
    if (v !== undefined && !taken.has(v)) taken.set(v, c.name);
  }
  let count = already.length;
  for (const c of ranked) {
    const v = valueOf(c);
    if (v !== undefined && taken.has(v)) {
      rejected.set(c.name, `spreadBy ${policy.spreadBy}: ${policy.spreadBy}=${v || '(unset)'} already has ${taken.get(v)}`);
      continue;
    }
    if (count >= max) {
      rejected.set(c.name, `maxClusters ${max}: reached by higher-ranked clusters`);
      continue;
    }
    chosen.push(c.name);
    count += 1;
    if (v !== undefined) taken.set(v, c.name);
  }
  return { chosen, rejected };
}
