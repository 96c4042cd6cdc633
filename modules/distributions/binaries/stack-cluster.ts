import * as pulumi from '@pulumi/pulumi';
import type { ClusterSpec, HostSpec } from '../../../stacks/model.ts';
import type { SshHost } from '../../hosts/host-resource.ts';
import { BinariesCluster, ClusterNode, ControlPlaneMember } from './resources.ts';
import { planTopology } from './topology.ts';

/**
 * A `kubernetes` cluster on hosts of an ssh site, built from the pinned binaries: the cluster
 * resource, then every control-plane member at once (etcd needs its peers), then every node at
 * once (each waits for its own Ready).
 */
export function binariesClusterResources(cluster: ClusterSpec, hosts: readonly HostSpec[], hostResources: ReadonlyMap<string, SshHost>): { server: string; kubeconfig: pulumi.Output<string>; kubeconfigPath: pulumi.Output<string> } {
  const topology = planTopology(cluster, hosts);
  // A host can be both control plane and node (a cluster of control-plane hosts only).
  const members = [...new Map([...topology.controlPlanes, ...topology.workers].map((m) => [m.name, m])).values()];
  const hostDeps = members.map((m) => hostResources.get(m.name)).filter((r): r is SshHost => !!r);
  const access = pulumi.all(members.map((m) => hostResources.get(m.name)?.pins ?? pulumi.output([]))).apply((pins) =>
    Object.fromEntries(members.map((m, i) => [m.name, { name: m.name, address: m.address, user: m.user, port: m.port, pins: pins[i] ?? [] }])),
  );
  const c = new BinariesCluster(cluster.name, { topology, access }, { dependsOn: hostDeps });
  const cgroupDriver = (process.env['INFRA_CGROUP_DRIVER'] === 'cgroupfs' ? 'cgroupfs' : 'systemd') as 'systemd' | 'cgroupfs';
  const common = { cluster: cluster.name, topology, pki: c.pki, access, cgroupDriver };
  const controlPlanes = topology.controlPlanes.map((h) => new ControlPlaneMember({ ...common, role: 'control-plane', host: h.name }, { dependsOn: [c, ...hostDeps] }));
  for (const w of topology.workers) new ClusterNode({ ...common, role: 'node', host: w.name }, { dependsOn: [c, ...controlPlanes] });
  return { server: topology.apiserverUrl, kubeconfig: c.kubeconfig, kubeconfigPath: c.kubeconfigPath };
}
