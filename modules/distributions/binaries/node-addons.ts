import type { ClusterSpec, Runtime } from '../../../stacks/model.ts';
import { runtimeNodeLabels } from '../../addons/runtimes.ts';
import { BIN_DIR } from './layout.ts';

/**
 * What the stack's add-ons need on the nodes of a `binaries` cluster (pure, planned from the
 * stack): which Pod network the distribution sets up itself, which add-on images it imports
 * (hosts cannot pull) and which runtime handlers containerd gets.
 *
 * - `cni: bridge`: infra's own bridge + host-local per node, Pod ranges routed host to host;
 *   nodes are Ready as soon as their kubelet runs.
 * - `cni: flannel` / `cilium` with `addons: true` (infra installs the add-ons): the CNI add-on brings the network. The distribution writes no CNI
 *   config, the controller-manager allocates each node a /24 of the cluster CIDR (flanneld's
 *   `--kube-subnet-mgr` reads it), and a node stays NotReady until the add-on's DaemonSet
 *   installed its CNI config there.
 * - `cni: flannel` / `cilium` without `addons: true`: nothing would install the CNI, so the nodes
 *   keep infra's bridge (Ready as soon as their kubelet runs) instead of staying NotReady.
 */
export interface NodeAddons {
  readonly podNetwork: 'routes' | 'addon';
  /** Add-on images imported into every node's containerd (name → reference). */
  readonly images: readonly AddonImageName[];
  /** gVisor: runsc and its containerd shim installed, and a `runsc` runtime handler. */
  readonly gvisor: boolean;
}

export type AddonImageName = 'flannel' | 'local-path' | 'busybox';

/** The references the add-on manifests use; the images are built here from the pinned binaries. */
export const ADDON_IMAGES: Readonly<Record<AddonImageName, string>> = {
  flannel: 'infra.local/flannel:v0.27.4',
  'local-path': 'infra.local/local-path-provisioner:v0.0.30',
  /** local-path's helper Pods run its setup/teardown scripts with `sh`, `mkdir` and `rm`. */
  busybox: 'infra.local/busybox:1.35.0',
};

/** Where gVisor's binaries go on a node (on containerd's PATH: the shim is found by its name). */
export const RUNSC_PATH = `${BIN_DIR}/runsc`;
export const RUNSC_SHIM_PATH = `${BIN_DIR}/containerd-shim-runsc-v1`;

export function nodeAddonsOf(cluster: Pick<ClusterSpec, 'cni' | 'csi' | 'runtimes' | 'addons'>): NodeAddons {
  const addonNetwork = cluster.cni !== 'bridge' && cluster.addons === true;
  const images: AddonImageName[] = [];
  if (addonNetwork && cluster.cni === 'flannel') images.push('flannel');
  if (cluster.csi === 'local-path') images.push('local-path', 'busybox');
  return { podNetwork: addonNetwork ? 'addon' : 'routes', images, gvisor: cluster.runtimes.includes('gvisor') };
}

/** A topology planned before add-ons existed (or built by hand) keeps infra's bridge. */
export function podNetworkOf(t: { readonly addons?: NodeAddons }): NodeAddons['podNetwork'] {
  return t.addons?.podNetwork ?? 'routes';
}

/** containerd's CRI runtime handlers beyond runc (appended to its config). */
export function runtimeHandlers(addons: NodeAddons | undefined): string[] {
  if (!addons?.gvisor) return [];
  return [
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]',
    '  runtime_type = "io.containerd.runsc.v1"',
  ];
}

/**
 * The sandbox runtimes this distribution installs a handler for. Kata it does not: a `kata`
 * RuntimeClass finds no node of a `binaries` cluster, and no node claims to have it.
 */
const INSTALLABLE_RUNTIMES: readonly Runtime[] = ['gvisor'];

function installedRuntimes(addons: NodeAddons | undefined): Runtime[] {
  return addons?.gvisor ? ['gvisor'] : [];
}

/** The labels the runtimes' RuntimeClasses select (modules/addons/runtimes.ts), for the handlers installed. */
export function nodeLabelsOf(addons: NodeAddons | undefined): Record<string, string> {
  return runtimeNodeLabels({ runtimes: installedRuntimes(addons) });
}

/** Every label key this distribution owns on its nodes: set when wanted, removed when not (the handler went with it). */
export function managedNodeLabelKeys(): string[] {
  return Object.keys(runtimeNodeLabels({ runtimes: INSTALLABLE_RUNTIMES }));
}
