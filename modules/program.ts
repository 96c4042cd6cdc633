import type * as pulumi from '@pulumi/pulumi';
import type { StackSpec } from '../stacks/load.ts';
import { binariesClusterResources } from './distributions/binaries/stack-cluster.ts';
import { kubeadmClusterResources } from './distributions/kubeadm/resources.ts';
import { SshHost } from './hosts/host-resource.ts';
import { hostKeyPins } from './hosts/stack-host-key.ts';
import { hostsOverSsh } from '../stacks/site-hosts.ts';
import { kvmSiteResources } from './kvm/stack-kvm.ts';
import { LocalCluster } from './local/local-cluster.ts';
import { PlannedCluster, PlannedHost } from './planned/planned.ts';

/**
 * The Pulumi program of a stack: one resource per host and per provisioned cluster. Clusters
 * given by kubeconfig are not resources (infra only deploys apps to them).
 */
export function stackProgram(stack: StackSpec): () => Promise<Record<string, unknown>> {
  return async () => {
    const hosts = new Map<string, pulumi.Resource>();
    const sshHosts = new Map<string, SshHost>();
    const sshSites = new Set(stack.sites.filter((s) => s.kind === 'ssh').map((s) => s.name));
    const clusterSites = new Set(stack.sites.filter(hostsOverSsh).map((s) => s.name));
    // VMs on kvm sites become SSH hosts once they answer: the same clusters can go on them.
    for (const site of stack.sites.filter((s) => s.kind === 'kvm' && s.kvm)) {
      const vms = await kvmSiteResources(site, stack.hosts.filter((h) => h.site === site.name), stack.name);
      for (const [name, host] of vms.sshHosts) {
        hosts.set(name, host);
        sshHosts.set(name, host);
      }
    }
    for (const h of stack.hosts) {
      if (sshHosts.has(h.name)) continue;
      if (sshSites.has(h.site) && h.address) {
        const r = new SshHost(h.name, { name: h.name, address: h.address, user: h.user, port: h.port, pins: hostKeyPins(h) });
        hosts.set(h.name, r);
        sshHosts.set(h.name, r);
        continue;
      }
      hosts.set(h.name, new PlannedHost(h.name, { site: h.site, address: h.address ?? '', user: h.user, port: h.port, arch: h.arch, cpus: h.cpus ?? 0, memoryGiB: h.memoryGiB ?? 0, disks: [...h.disks] }));
    }
    const clusters: Record<string, unknown> = {};
    for (const c of stack.clusters) {
      if (c.kubeconfig) continue;
      if (c.local) {
        const lc = new LocalCluster(c.name, { name: c.name, nodes: c.nodes });
        clusters[c.name] = { server: lc.server, kubeconfigPath: lc.kubeconfigPath, running: lc.running };
        continue;
      }
      // On SSH hosts and on the VMs of kvm sites alike: the VMs' addresses are their static leases.
      if (c.distribution === 'kubernetes' && c.site && clusterSites.has(c.site)) {
        clusters[c.name] = c.bootstrap === 'kubeadm' ? kubeadmClusterResources(c, stack.hosts, sshHosts) : binariesClusterResources(c, stack.hosts, sshHosts);
        continue;
      }
      const dependsOn = c.hosts.map((h) => hosts.get(h)).filter((r): r is pulumi.Resource => !!r);
      new PlannedCluster(
        c.name,
        { distribution: c.distribution, version: c.version, site: c.site ?? '', controlPlanes: c.controlPlanes, datastore: c.datastore, cni: c.cni, csi: c.csi, runtimes: [...c.runtimes], hosts: [...c.hosts] },
        { dependsOn },
      );
    }
    return { clusters };
  };
}
