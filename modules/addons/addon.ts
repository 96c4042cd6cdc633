import type { Cni, Csi, Distribution, HostSpec, Runtime } from '../../stacks/model.ts';
import type { PathSegment } from '../../stacks/issues.ts';
import type { KubeObject } from '../../reconciler/types.ts';

/**
 * A cluster add-on (CNI, CSI, sandbox runtime): what the stack chose, rendered as Kubernetes
 * objects the reconciler applies as an app owned by infra. Renderers are pure: the same facts
 * give byte-identical objects.
 */

export type AddonKind = 'cni' | 'csi' | 'runtime';

/** Cilium's choices the stack makes (`clusters[].cilium`). */
export interface CiliumOptions {
  readonly kubeProxyReplacement: boolean;
  readonly routing: 'tunnel' | 'native';
  readonly ipam: 'kubernetes' | 'cluster-pool';
}

/** What an add-on renders from: one cluster of the stack, with its hosts. */
export interface AddonFacts {
  readonly cluster: string;
  /** Where the cluster sits in the stack file, e.g. `['clusters', 2]` (errors name the path and line). */
  readonly path: readonly PathSegment[];
  readonly distribution: Distribution;
  readonly bootstrap?: 'binaries' | 'kubeadm';
  /** Distribution `local` (an `infra local` cluster or one reached by kubeconfig): kwok nodes, no kubelet, no container runtime. */
  readonly local: boolean;
  /** An existing cluster reached by kubeconfig: infra does not provision its nodes. */
  readonly existing: boolean;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly nodes: number;
  readonly hosts: readonly HostSpec[];
  readonly cni: Cni;
  readonly csi: Csi;
  readonly runtimes: readonly Runtime[];
  readonly cilium: CiliumOptions;
  /**
   * Set when infra makes the nodes itself (`binaries` on hosts): the add-on images are the ones it
   * built and imported into every node's containerd (nothing is pulled), and Pods reach the
   * apiserver directly, since that distribution runs no kube-proxy for the `kubernetes` Service.
   */
  readonly infraNodes?: { readonly apiserverHost: string; readonly apiserverPort: number };
}

/** A problem in the stack an add-on cannot render from; `path` is a stack path (reported with its line). */
export interface AddonIssue {
  readonly path: readonly PathSegment[];
  readonly message: string;
  readonly hint?: string;
}

/** A file the add-on needs on every node (outside Kubernetes), e.g. a containerd config drop-in. */
export interface NodeFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface Addon {
  /** Name of the add-on, also the suffix of its infra-owned app (`addon-<name>`). */
  readonly name: string;
  readonly kind: AddonKind;
  /** Upstream version the manifests follow (pinned). */
  readonly version: string;
  /** Whether the stack asks for this add-on on the cluster. */
  wanted(f: AddonFacts): boolean;
  /** Problems of the stack for this add-on (empty: it can render). */
  validate(f: AddonFacts): AddonIssue[];
  /** The Kubernetes objects, CRDs first when the add-on brings its own. */
  render(f: AddonFacts): KubeObject[];
  /** Files every node needs (containerd config, CNI config); empty for most add-ons. */
  nodeFiles(f: AddonFacts): NodeFile[];
  /** What health cannot tell on this cluster (kwok nodes run no real Pods, no images can be pulled here). */
  unobservable(f: AddonFacts): string[];
}

/** The images an add-on's objects name (pinned tags), in object order. */
export function imagesOf(objects: readonly KubeObject[]): string[] {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'image' && typeof x === 'string') out.add(x);
        else visit(x);
      }
    }
  };
  objects.forEach(visit);
  return [...out];
}

/** What kwok nodes cannot show about a workload add-on. */
export function kwokLimits(f: AddonFacts): string[] {
  if (!f.local) return [];
  return ['the cluster\'s nodes are kwok\'s: DaemonSet and Deployment Pods are kwok\'s fake ones (Ready without running a container), so Healthy means the objects were accepted and rolled out, not that the add-on works'];
}
