import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolveBinaries } from '../../../../clusters/tools/resolver.ts';
import { isVersionedBinary, KUBERNETES_VERSION, type BinaryName } from '../../../../clusters/tools/versions.ts';
import { ensureAddonImage } from '../addon-images.ts';
import { ensurePauseImage } from '../pause-image.ts';
import type { NodeAddons } from '../node-addons.ts';
import type { Artifacts, LocalArtifact } from '../steps.ts';

/** What a `binaries` cluster uploads: the pinned control-plane and node binaries and the pause image. */
export const CLUSTER_BINARIES: readonly BinaryName[] = ['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubelet', 'cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'];

const digests = new Map<string, string>();

/** SHA-256 of a cached file, hashed once per process and file version (binaries are ~80 MB). */
export async function digestOf(path: string): Promise<string> {
  const s = await stat(path);
  const key = `${path}:${s.size}:${s.mtimeMs}`;
  const known = digests.get(key);
  if (known) return known;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const hex = hash.digest('hex');
  digests.set(key, hex);
  return hex;
}

async function artifact(path: string): Promise<LocalArtifact> {
  return { path, sha256: await digestOf(path) };
}

/**
 * Resolves (from the cache, or builds) every binary, the pause image and the add-on images, with their digests:
 * the kube-* components and the kubelet at the cluster's Kubernetes `version`, the rest pinned.
 */
export async function clusterArtifacts(options: { version?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal; progress?: (line: string) => void; addons?: NodeAddons | undefined } = {}): Promise<Artifacts> {
  const common = { ...(options.env ? { env: options.env } : {}), ...(options.signal ? { signal: options.signal } : {}), ...(options.progress ? { progress: options.progress } : {}) };
  const version = options.version ?? KUBERNETES_VERSION;
  // gVisor's runsc and its containerd shim only when the stack asks for the runtime.
  const names: BinaryName[] = [...CLUSTER_BINARIES, ...(options.addons?.gvisor ? (['runsc', 'containerd-shim-runsc-v1'] as const) : [])];
  const pinned = await resolveBinaries(names.filter((n) => !isVersionedBinary(n)), common);
  const versioned = await resolveBinaries(names.filter(isVersionedBinary), { ...common, kubernetesVersion: version });
  const binaries: Record<string, LocalArtifact> = {};
  for (const name of names) binaries[name] = await artifact((isVersionedBinary(name) ? versioned[name] : pinned[name]).path);
  const addonImages: Record<string, LocalArtifact> = {};
  for (const name of options.addons?.images ?? []) {
    addonImages[name] = await artifact(await ensureAddonImage(name, { ...(options.env ? { env: options.env } : {}), ...(options.signal ? { signal: options.signal } : {}) }));
  }
  return { binaries, pauseImage: await artifact(await ensurePauseImage(options.env, options.signal)), addonImages };
}
