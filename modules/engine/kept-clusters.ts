/**
 * During `infra up` and `infra destroy` the engine tells the providers which clusters the run keeps
 * (INFRA_KEPT_CLUSTERS, a JSON list of names; `[]` for a destroy). A member of a cluster that is
 * not kept is retired with its cluster (services stopped, data left on the host) instead of being
 * taken out of a cluster that goes on, where removing the last etcd member is refused.
 * Without the variable (any other caller) nothing counts as retired: the safe side.
 */
export const KEPT_CLUSTERS_ENV = 'INFRA_KEPT_CLUSTERS';

export function keptClustersValue(clusters: readonly string[]): string {
  return JSON.stringify([...clusters].sort());
}

export function clusterRetired(cluster: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[KEPT_CLUSTERS_ENV];
  if (value === undefined) return false;
  try {
    const kept: unknown = JSON.parse(value);
    return Array.isArray(kept) && !kept.includes(cluster);
  } catch {
    return false;
  }
}
