/**
 * The persisted description of a local cluster (`cluster.json`): what `up` decided once
 * (ports, node count, versions) so that later `up`s restart the same cluster the same way.
 */

export const STATE_API_VERSION = 'infra.dev/v1alpha1';

export interface ClusterPorts {
  readonly apiserver: number;
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly kwok: number;
}

export interface LocalClusterState {
  readonly apiVersion: typeof STATE_API_VERSION;
  readonly kind: 'LocalCluster';
  readonly name: string;
  readonly nodes: number;
  readonly ports: ClusterPorts;
  readonly kubernetesVersion: string;
  readonly etcdVersion: string;
  readonly kwokVersion: string;
  /** Skip etcd fsync: faster, loses the last writes on a machine crash (tests only). */
  readonly unsafeNoFsync: boolean;
  readonly createdAt: string;
}

/** Parses cluster.json, or returns the problem in words (for a one-line error). */
export function parseClusterState(text: string): LocalClusterState | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (typeof raw !== 'object' || raw === null) return 'not a JSON object';
  const s = raw as Record<string, unknown>;
  if (s['apiVersion'] !== STATE_API_VERSION || s['kind'] !== 'LocalCluster') {
    return `expected apiVersion ${STATE_API_VERSION} and kind LocalCluster`;
  }
  const ports = s['ports'] as Record<string, unknown> | undefined;
  for (const key of ['apiserver', 'etcdClient', 'etcdPeer', 'kwok'] as const) {
    const port = ports?.[key];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      return `ports.${key} is missing or not a port number`;
    }
  }
  if (typeof s['name'] !== 'string') return 'name is missing';
  if (typeof s['nodes'] !== 'number' || s['nodes'] < 0) return 'nodes is missing or negative';
  return raw as LocalClusterState;
}
