/** Sites, hosts and clusters of a stack, after defaults. Plain data. */

export type SiteKind = 'local' | 'kvm' | 'ssh';
export type Distribution = 'kubernetes' | 'k3s' | 'local';
export type Datastore = 'sqlite' | 'embedded-etcd' | 'external-etcd' | 'external-sql';
/** `bridge`: the `binaries` distribution's own bridge with Pod ranges routed host to host (no add-on). */
export type Cni = 'flannel' | 'cilium' | 'bridge';
export type Csi = 'rook-ceph' | 'local-path' | 'none';
export type Runtime = 'gvisor' | 'kata';

export interface SiteSpec {
  readonly name: string;
  readonly kind: SiteKind;
  readonly uri?: string;
  /** kvm sites: where and what the VMs are made from. */
  readonly kvm?: KvmSiteSpec;
  readonly edge: boolean;
  readonly network: 'reliable' | 'unreliable';
  readonly labels: Readonly<Record<string, string>>;
}

export interface KvmSiteSpec {
  readonly pool: string;
  readonly subnet: string;
  readonly image: string;
  readonly accel: 'kvm' | 'tcg';
  readonly kernel?: string;
  readonly initrd?: string;
  readonly cmdline?: string;
}

export interface HostSpec {
  readonly name: string;
  readonly site: string;
  readonly address?: string;
  readonly user: string;
  readonly port: number;
  readonly hostKey?: string;
  readonly cpus?: number;
  readonly memoryGiB?: number;
  readonly arch: 'amd64' | 'arm64';
  readonly disks: readonly string[];
}

export interface ClusterSpec {
  readonly name: string;
  /** Path of a kubeconfig of an existing cluster; absent for clusters infra provisions. */
  readonly kubeconfig?: string;
  /** An `infra local` cluster (distribution local, nothing else to reach it by). */
  readonly local: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly site?: string;
  readonly distribution: Distribution;
  /** How a `kubernetes` cluster on hosts is made: absent means `binaries`. */
  readonly bootstrap?: 'binaries' | 'kubeadm';
  readonly version: string;
  readonly controlPlanes: number;
  readonly nodes: number;
  readonly hosts: readonly string[];
  readonly datastore: Datastore;
  readonly datastoreEndpoint?: string;
  readonly cni: Cni;
  readonly csi: Csi;
  readonly runtimes: readonly Runtime[];
  /** infra installs the cni, csi and runtimes as apps it owns (`addons: true`). */
  readonly addons?: boolean;
  /** Pod and service networks (absent: the defaults, 10.244.0.0/16 and 10.96.0.0/16). */
  readonly podCidr?: string;
  readonly serviceCidr?: string;
  readonly cilium?: { readonly kubeProxyReplacement?: boolean; readonly routing?: 'tunnel' | 'native'; readonly ipam?: 'kubernetes' | 'cluster-pool' };
}

/** A default the stack or the wizard chose, and the rule that chose it (shown to the user). */
export interface Decision {
  readonly path: string;
  readonly value: string;
  readonly rule: string;
}
