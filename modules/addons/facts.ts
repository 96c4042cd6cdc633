import type { StackSpec } from '../../stacks/load.ts';
import type { ClusterSpec, HostSpec } from '../../stacks/model.ts';
import { APISERVER_PORT } from '../distributions/binaries/topology.ts';
import type { AddonFacts } from './addon.ts';

/** The facts of each cluster of a stack the add-ons render from (defaults filled, hosts resolved). */

/** The networks the `binaries` distribution configures (modules/distributions/binaries/topology.ts). */
export const DEFAULT_POD_CIDR = '10.244.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';

export function clusterFacts(stack: Pick<StackSpec, 'hosts' | 'clusters'>, cluster: ClusterSpec): AddonFacts {
  const hosts = new Map(stack.hosts.map((h) => [h.name, h] as const));
  const index = stack.clusters.findIndex((c) => c.name === cluster.name);
  const infraNodes = cluster.distribution === 'kubernetes' && (cluster.bootstrap ?? 'binaries') === 'binaries' && cluster.kubeconfig === undefined && cluster.hosts.length > 0;
  // The first host of the cluster is its first control plane, the apiserver the kubelets use.
  const first = hosts.get(cluster.hosts[0] ?? '');
  return {
    cluster: cluster.name,
    path: ['clusters', index < 0 ? 0 : index],
    distribution: cluster.distribution,
    ...(cluster.bootstrap ? { bootstrap: cluster.bootstrap } : {}),
    local: cluster.distribution === 'local',
    existing: cluster.kubeconfig !== undefined && cluster.distribution !== 'local',
    podCidr: cluster.podCidr ?? DEFAULT_POD_CIDR,
    serviceCidr: cluster.serviceCidr ?? DEFAULT_SERVICE_CIDR,
    nodes: cluster.nodes,
    hosts: cluster.hosts.map((h) => hosts.get(h)).filter((h): h is HostSpec => !!h),
    cni: cluster.cni,
    csi: cluster.csi,
    runtimes: cluster.runtimes,
    cilium: { kubeProxyReplacement: cluster.cilium?.kubeProxyReplacement ?? true, routing: cluster.cilium?.routing ?? 'tunnel', ipam: cluster.cilium?.ipam ?? 'kubernetes' },
    ...(infraNodes && first ? { infraNodes: { apiserverHost: first.address ?? first.name, apiserverPort: APISERVER_PORT } } : {}),
  };
}
