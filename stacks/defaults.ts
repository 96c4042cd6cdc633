import { KUBERNETES_DEFAULT_VERSION, K3S_DEFAULT_VERSION } from './versions.ts';
import type { Cni, Csi, Datastore, Decision, Distribution, HostSpec, SiteSpec } from './model.ts';

/**
 * The default choices of docs/DECISIONS.md as pure rules: what the user left out in, the value and
 * the rule that picked it out. The wizard shows the same rules.
 */

export interface ClusterFacts {
  readonly path: string;
  readonly site?: SiteSpec;
  readonly hosts: readonly HostSpec[];
  readonly nodes: number;
  readonly controlPlanes: number;
  readonly strictSecurity: boolean;
}

export interface Chosen<T> {
  readonly value: T;
  readonly decision: Decision;
}

const chosen = <T extends string>(path: string, value: T, rule: string): Chosen<T> => ({ value, decision: { path, value, rule } });

export function chooseDistribution(f: ClusterFacts): Chosen<Distribution> {
  const p = `${f.path}.distribution`;
  if (f.site?.kind === 'local' || !f.site) return chosen(p, 'local', 'a local site runs clusters as processes on this machine');
  if (f.nodes > 1000) return chosen(p, 'kubernetes', 'more than 1000 nodes → Kubernetes (K3s is not meant for that scale)');
  if (f.site.edge) return chosen(p, 'k3s', 'edge site → K3s (single binary, control plane under ~250 MB)');
  if (f.site.network === 'unreliable') return chosen(p, 'k3s', 'unreliable network → K3s');
  if (f.hosts.some((h) => h.memoryGiB !== undefined && h.memoryGiB < 4)) return chosen(p, 'k3s', 'nodes with less than 4 GiB memory → K3s');
  if (f.hosts.some((h) => h.arch === 'arm64')) return chosen(p, 'k3s', 'ARM devices → K3s');
  return chosen(p, 'kubernetes', 'a core site with capable nodes → Kubernetes');
}

export function chooseDatastore(f: ClusterFacts, distribution: Distribution): Chosen<Datastore> {
  const p = `${f.path}.datastore`;
  if (distribution === 'local') return chosen(p, 'embedded-etcd', 'local clusters run their own etcd process');
  if (f.nodes > 100 && distribution === 'kubernetes') return chosen(p, 'external-etcd', 'large cluster → external etcd (3 or 5 members)');
  if (distribution === 'k3s' && f.controlPlanes === 1) return chosen(p, 'sqlite', 'K3s with a single server → SQLite');
  if (distribution === 'k3s') return chosen(p, 'embedded-etcd', 'K3s with an HA control plane (3 servers) → embedded etcd');
  return chosen(p, 'embedded-etcd', 'Kubernetes of moderate size → etcd stacked on the control-plane nodes');
}

export function chooseCni(f: ClusterFacts): Chosen<Cni> {
  const p = `${f.path}.cni`;
  if (f.strictSecurity) return chosen(p, 'cilium', 'strict security needs (L7 policies) → Cilium (eBPF)');
  if (f.nodes > 500) return chosen(p, 'cilium', 'more than 500 nodes → Cilium (eBPF routing)');
  return chosen(p, 'flannel', 'fewer than 500 nodes → Flannel (VXLAN), the simple default');
}

export function chooseCsi(f: ClusterFacts, distribution: Distribution): Chosen<Csi> {
  const p = `${f.path}.csi`;
  if (distribution === 'local') return chosen(p, 'none', 'local clusters have fake (kwok) nodes: no real storage');
  const withDisks = f.hosts.filter((h) => h.disks.length > 0).length;
  if (withDisks >= 3) return chosen(p, 'rook-ceph', '3 or more nodes with spare disks → Rook-Ceph (shared block/file storage)');
  return chosen(p, 'local-path', 'single node, edge, or no spare disks → local persistent volumes (node-bound)');
}

export function defaultVersion(distribution: Distribution): string {
  return distribution === 'k3s' ? K3S_DEFAULT_VERSION : KUBERNETES_DEFAULT_VERSION;
}
