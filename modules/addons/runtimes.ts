import type { KubeObject } from '../../reconciler/types.ts';
import type { Runtime } from '../../stacks/model.ts';
import { type Addon, type AddonFacts, type AddonIssue, type NodeFile } from './addon.ts';
import { labels } from './objects.ts';

/**
 * Sandbox runtimes: containerd keeps runc as its default and gets one more handler per runtime
 * (`runsc` for gVisor, `kata` for Kata Containers); a RuntimeClass per runtime schedules Pods
 * that ask for it only onto nodes labelled as having the handler. The node side (containerd
 * drop-in, node labels, the runtime's binaries) is for the distribution to install.
 */

export const RUNSC_VERSION = 'release-20241104.0';
export const KATA_VERSION = '3.10.1';
export const RUNTIMES_VERSION = `runsc-${RUNSC_VERSION},kata-${KATA_VERSION}`;
/** containerd config drop-in (imported by the distribution's config.toml). */
export const CONTAINERD_RUNTIMES_FILE = '/etc/containerd/conf.d/20-infra-runtimes.toml';

interface RuntimeInfo {
  readonly handler: string;
  readonly shim: string;
}

export const RUNTIME_HANDLERS: Readonly<Record<Runtime, RuntimeInfo>> = {
  gvisor: { handler: 'runsc', shim: 'io.containerd.runsc.v1' },
  kata: { handler: 'kata', shim: 'io.containerd.kata.v2' },
};

/** The label a node carries when it has the runtime's handler. */
export function runtimeNodeLabel(runtime: Runtime): string {
  return `infra.dev/runtime-${runtime}`;
}

/** Labels a node with these runtimes' handlers carries (kubelet --node-labels, and through the apiserver for nodes registered before). */
export function runtimeNodeLabels(f: Pick<AddonFacts, 'runtimes'>): Record<string, string> {
  return Object.fromEntries(sorted(f.runtimes).map((r) => [runtimeNodeLabel(r), 'true']));
}

export function containerdRuntimesToml(f: AddonFacts): string {
  const lines = ['# Written by infra from the stack: runc stays the default; one handler per sandbox runtime.', 'version = 2', '', '[plugins."io.containerd.grpc.v1.cri".containerd]', '  default_runtime_name = "runc"'];
  for (const r of sorted(f.runtimes)) {
    const { handler, shim } = RUNTIME_HANDLERS[r];
    lines.push('', `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${handler}]`, `  runtime_type = "${shim}"`);
  }
  return `${lines.join('\n')}\n`;
}

function sorted(rs: readonly Runtime[]): Runtime[] {
  return [...new Set(rs)].sort();
}

export const runtimes: Addon = {
  name: 'runtimes',
  kind: 'runtime',
  version: RUNTIMES_VERSION,
  wanted: (f) => f.runtimes.length > 0,
  validate(f): AddonIssue[] {
    const out: AddonIssue[] = [];
    f.runtimes.forEach((r, i) => {
      const at = [...f.path, 'runtimes', i];
      if (f.runtimes.indexOf(r) !== i) out.push({ path: at, message: `runtime ${r} is listed twice` });
      else if (f.existing) out.push({ path: at, message: `${r} needs containerd configured on the nodes, and cluster "${f.cluster}" is an existing cluster (kubeconfig) infra does not provision`, hint: 'install the handler on its nodes yourself and drop runtimes here, or let infra provision the cluster' });
      else if (r === 'kata' && f.hosts.some((h) => h.arch === 'arm64')) out.push({ path: at, message: `kata needs hardware virtualization (KVM); hosts ${f.hosts.filter((h) => h.arch === 'arm64').map((h) => h.name).join(', ')} are arm64 devices, which infra does not install Kata on`, hint: 'use gvisor for untrusted workloads on arm64' });
      else if (r === 'kata' && f.distribution === 'k3s') out.push({ path: at, message: 'kata on k3s is not supported by infra (k3s ships its own containerd config template)', hint: 'use gvisor, or distribution kubernetes' });
    });
    return out;
  },
  render(f): KubeObject[] {
    return sorted(f.runtimes).map((r) => ({
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: r, labels: labels('runtimes', r) },
      handler: RUNTIME_HANDLERS[r].handler,
      scheduling: { nodeSelector: { [runtimeNodeLabel(r)]: 'true' } },
    }));
  },
  nodeFiles: (f): NodeFile[] => (f.runtimes.length === 0 ? [] : [{ path: CONTAINERD_RUNTIMES_FILE, content: containerdRuntimesToml(f), mode: 0o644 }]),
  unobservable: (f) => (f.local ? ['kwok nodes have no container runtime: the RuntimeClasses exist, no Pod runs under runsc or kata here, and no kwok node carries the runtime labels unless the test sets them'] : ['a RuntimeClass has no status: Healthy means it exists, not that its handler works on the nodes']),
};
