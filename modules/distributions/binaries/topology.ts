import { InfraError } from '../../../stacks/errors.ts';
import type { ClusterSpec, HostSpec } from '../../../stacks/model.ts';
import { nodeAddonsOf, type NodeAddons } from './node-addons.ts';

/**
 * Who does what in a `binaries` cluster: the first `controlPlanes` hosts of the cluster run etcd
 * and the control plane, the others are worker nodes (a cluster of control-plane hosts only
 * runs its kubelets there too). Pure data, planned from the stack.
 */

export interface ClusterHost {
  readonly name: string;
  readonly address: string;
  readonly user: string;
  readonly port: number;
}

export interface WorkerNode extends ClusterHost {
  /** The node's Pod range; every other node routes it to this host. */
  readonly podCidr: string;
}

export interface BinariesTopology {
  readonly cluster: string;
  readonly version: string;
  readonly controlPlanes: readonly ClusterHost[];
  readonly workers: readonly WorkerNode[];
  /** What kubelets and the returned kubeconfig talk to: the first control-plane host. */
  readonly apiserverUrl: string;
  readonly serviceCidr: string;
  readonly kubernetesServiceIp: string;
  readonly clusterCidr: string;
  readonly clusterDomain: string;
  /** What the stack's add-ons need on the nodes (node-addons.ts). */
  readonly addons?: NodeAddons;
}

export const APISERVER_PORT = 6443;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
const SERVICE_CIDR = '10.96.0.0/16';
const KUBERNETES_SERVICE_IP = '10.96.0.1';
const CLUSTER_CIDR = '10.244.0.0/16';

/** The stack asks for a cluster its hosts cannot make (exit 2, like any invalid request). */
export class TopologyError extends InfraError {
  readonly reason = 'Topology';
  override readonly exitCode = 2;
}

export function planTopology(cluster: ClusterSpec, hosts: readonly HostSpec[]): BinariesTopology {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const members = cluster.hosts.map((name): ClusterHost => {
    const h = byName.get(name);
    if (!h) throw new TopologyError(`host "${name}" is not in the stack's hosts`, { where: `cluster ${cluster.name}` });
    if (!h.address) throw new TopologyError(`host "${name}" has no address`, { where: `cluster ${cluster.name}` });
    return { name: h.name, address: h.address, user: h.user, port: h.port };
  });
  if (members.length < cluster.controlPlanes || cluster.controlPlanes < 1) {
    throw new TopologyError(`${cluster.controlPlanes} control planes need at least as many hosts (has ${members.length})`, { where: `cluster ${cluster.name}` });
  }
  const controlPlanes = members.slice(0, cluster.controlPlanes);
  const rest = members.slice(cluster.controlPlanes);
  const nodeHosts = rest.length > 0 ? rest : controlPlanes;
  // Pod ranges by position in the stack: stable as long as the order of hosts is.
  const workers = nodeHosts.map((h, i): WorkerNode => ({ ...h, podCidr: `10.244.${i + 1}.0/24` }));
  const first = controlPlanes[0] as ClusterHost;
  return {
    cluster: cluster.name,
    version: cluster.version,
    controlPlanes,
    workers,
    apiserverUrl: `https://${first.address}:${APISERVER_PORT}`,
    serviceCidr: SERVICE_CIDR,
    kubernetesServiceIp: KUBERNETES_SERVICE_IP,
    clusterCidr: CLUSTER_CIDR,
    clusterDomain: 'cluster.local',
    addons: nodeAddonsOf(cluster),
  };
}

export function etcdInitialCluster(t: BinariesTopology): string {
  return t.controlPlanes.map((h) => `${h.name}=https://${h.address}:${ETCD_PEER_PORT}`).join(',');
}

export function etcdServers(t: BinariesTopology): string {
  return t.controlPlanes.map((h) => `https://${h.address}:${ETCD_CLIENT_PORT}`).join(',');
}
