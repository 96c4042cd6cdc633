import * as pulumi from '@pulumi/pulumi';
import type { ClusterSpec, HostSpec } from '../../../stacks/model.ts';
import type { SshHost } from '../../hosts/host-resource.ts';
import { providerAt } from '../binaries/resources.ts';
import { planTopology } from '../binaries/topology.ts';

const provider = providerAt('../kubeadm/effects/kubeadm-provider.ts');

/**
 * A `kubernetes` cluster with `bootstrap: kubeadm`: one resource for the whole cluster (kubeadm
 * orders its hosts itself: init, then joins). Its CAs and bootstrap token live in the state as
 * secrets; its refresh runs every host's checks, so a second `up` finds nothing to update.
 */
export class KubeadmCluster extends pulumi.dynamic.Resource {
  declare readonly kubeconfig: pulumi.Output<string>;
  declare readonly server: pulumi.Output<string>;
  declare readonly kubeconfigPath: pulumi.Output<string>;

  constructor(name: string, args: { topology: pulumi.Input<unknown>; access: pulumi.Input<unknown>; cgroupDriver: 'systemd' | 'cgroupfs' }, opts?: pulumi.CustomResourceOptions) {
    super(provider, `kubeadm:${name}`, { ...args, secrets: undefined, kubeconfig: undefined, server: undefined, kubeconfigPath: undefined, inSync: undefined }, { ...opts, additionalSecretOutputs: ['secrets', 'kubeconfig'] }, 'infra', 'KubeadmCluster');
  }
}

export function kubeadmClusterResources(cluster: ClusterSpec, hosts: readonly HostSpec[], hostResources: ReadonlyMap<string, SshHost>): { server: string; kubeconfig: pulumi.Output<string>; kubeconfigPath: pulumi.Output<string> } {
  const topology = planTopology(cluster, hosts);
  const members = [...new Map([...topology.controlPlanes, ...topology.workers].map((m) => [m.name, m])).values()];
  const hostDeps = members.map((m) => hostResources.get(m.name)).filter((r): r is SshHost => !!r);
  const access = pulumi.all(members.map((m) => hostResources.get(m.name)?.pins ?? pulumi.output([]))).apply((pins) =>
    Object.fromEntries(members.map((m, i) => [m.name, { name: m.name, address: m.address, user: m.user, port: m.port, pins: pins[i] ?? [] }])),
  );
  const cgroupDriver = (process.env['INFRA_CGROUP_DRIVER'] === 'cgroupfs' ? 'cgroupfs' : 'systemd') as 'systemd' | 'cgroupfs';
  const c = new KubeadmCluster(cluster.name, { topology, access, cgroupDriver }, { dependsOn: hostDeps });
  return { server: topology.apiserverUrl, kubeconfig: c.kubeconfig, kubeconfigPath: c.kubeconfigPath };
}
