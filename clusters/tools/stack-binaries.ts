import type { StackSpec } from '../../stacks/load.ts';
import { BINARY_NAMES, CNI_PLUGIN_NAMES, KUBERNETES_VERSION, VERSIONED_BINARY_NAMES, type BinaryName, type VersionedBinary } from './versions.ts';

/**
 * The pinned binaries a stack's `up` runs, so they can be resolved (downloaded or built,
 * with progress) before the engine starts instead of silently inside its provider: the
 * engine itself, the control plane when the stack has local clusters, and the renderers its
 * apps may use (`auto` may detect either, so it needs both).
 */
export function binariesFor(stack: StackSpec): BinaryName[] {
  return binariesAndVersionsFor(stack).pinned;
}

const sshKubernetes = (stack: StackSpec) => {
  const sshSites = new Set(stack.sites.filter((s) => s.kind === 'ssh').map((s) => s.name));
  return stack.clusters.filter((c) => !c.kubeconfig && c.distribution === 'kubernetes' && c.site && sshSites.has(c.site));
};

/**
 * Besides the pinned binaries, the kube-* components and kubelets of clusters on ssh hosts that
 * name another supported Kubernetes version (e.g. 1.34.3 before an upgrade), per version.
 */
export function binariesAndVersionsFor(stack: StackSpec): { pinned: BinaryName[]; versioned: { version: string; names: readonly VersionedBinary[] }[] } {
  const versions = [...new Set(sshKubernetes(stack).map((c) => c.version))].filter((v) => v !== KUBERNETES_VERSION).sort();
  return { pinned: pinnedFor(stack), versioned: versions.map((version) => ({ version, names: VERSIONED_BINARY_NAMES })) };
}

function pinnedFor(stack: StackSpec): BinaryName[] {
  const names = new Set<BinaryName>(['pulumi']);
  if (stack.clusters.some((c) => c.local && !c.kubeconfig)) for (const n of BINARY_NAMES) names.add(n);
  // A kubernetes cluster on ssh hosts: infra uploads the control plane, etcdctl and the node binaries.
  if (sshKubernetes(stack).length > 0) {
    for (const n of ['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubelet', ...CNI_PLUGIN_NAMES] as const) names.add(n);
  }
  for (const app of stack.gitops.apps) {
    if (app.render === 'kustomize' || app.render === 'auto') names.add('kustomize');
    if (app.render === 'helm' || app.render === 'auto') names.add('helm');
  }
  const order: readonly BinaryName[] = ['pulumi', ...BINARY_NAMES, 'etcdctl', 'kubectl', 'kubelet', ...CNI_PLUGIN_NAMES, 'kustomize', 'helm'];
  return order.filter((n) => names.has(n));
}
