import type { BinaryName } from './versions.ts';
import { ADDON_BINARY_NAMES, BINARIES } from './versions.ts';

/**
 * Where each pinned binary is published as a release artifact, and the SHA-256 published
 * beside it. Pure: the platform, the version and the mirror settings in, URLs out.
 *
 * Mirrors: `INFRA_RELEASE_MIRROR=<base>` serves every upstream under its host name, e.g.
 * `<base>/dl.k8s.io/release/v1.34.4/bin/linux/amd64/kube-apiserver`;
 * `INFRA_RELEASE_MIRROR_<SOURCE>=<base>` (ETCD, KUBERNETES, KWOK, HELM, KUSTOMIZE, PULUMI)
 * replaces one upstream's base, with the upstream paths beneath it. The per-source one wins.
 */

export type ReleaseSource = 'etcd' | 'kubernetes' | 'kwok' | 'helm' | 'kustomize' | 'pulumi';
export type ReleaseArch = 'amd64' | 'arm64';

/** How the SHA-256 of an artifact is published. */
export type ChecksumSource =
  /** A file beside the artifact: a bare hex digest or `sha256sum` lines naming the artifact. */
  | { readonly kind: 'file'; readonly url: string }
  /** No checksum is published upstream: the digest must be pinned here to download at all. */
  | { readonly kind: 'pinned'; readonly sha256: string | undefined };

export interface ReleaseArtifact {
  readonly source: ReleaseSource;
  readonly url: string;
  /** The artifact's file name as the checksum file lists it. */
  readonly fileName: string;
  readonly checksum: ChecksumSource;
  /** Path of the binary inside a .tar.gz; undefined when the artifact is the binary itself. */
  readonly member: string | undefined;
}

export type ArtifactPlan = { readonly kind: 'download'; readonly artifact: ReleaseArtifact } | { readonly kind: 'none'; readonly why: string };

interface Layout {
  readonly source: ReleaseSource;
  readonly upstream: string;
  readonly path: string;
  readonly checksum: { readonly path: string } | { readonly pinned: Readonly<Partial<Record<ReleaseArch, string>>> };
  readonly member?: string;
}

const GITHUB = 'https://github.com';

/**
 * kwok's releases publish bare binaries and no checksum file; downloads of kwok need its
 * digests pinned here (per architecture). Until then kwok is built.
 */
const KWOK_SHA256: Readonly<Partial<Record<ReleaseArch, string>>> = {};

function layout(name: BinaryName, version: string, arch: ReleaseArch): Layout {
  const v = version;
  switch (name) {
    case 'etcd':
      return {
        source: 'etcd',
        upstream: `${GITHUB}/etcd-io/etcd/releases/download`,
        path: `v${v}/etcd-v${v}-linux-${arch}.tar.gz`,
        checksum: { path: `v${v}/SHA256SUMS` },
        member: `etcd-v${v}-linux-${arch}/etcd`,
      };
    case 'etcdctl':
    case 'etcdutl':
      return {
        source: 'etcd',
        upstream: `${GITHUB}/etcd-io/etcd/releases/download`,
        path: `v${v}/etcd-v${v}-linux-${arch}.tar.gz`,
        checksum: { path: `v${v}/SHA256SUMS` },
        member: `etcd-v${v}-linux-${arch}/${name}`,
      };
    case 'kube-apiserver':
    case 'kube-controller-manager':
    case 'kube-scheduler':
    case 'kubelet':
    case 'kubectl':
    case 'kubeadm':
      return {
        source: 'kubernetes',
        upstream: 'https://dl.k8s.io/release',
        path: `v${v}/bin/linux/${arch}/${name}`,
        checksum: { path: `v${v}/bin/linux/${arch}/${name}.sha256` },
      };
    case 'kwok':
      return {
        source: 'kwok',
        upstream: `${GITHUB}/kubernetes-sigs/kwok/releases/download`,
        path: `v${v}/kwok-linux-${arch}`,
        checksum: { pinned: KWOK_SHA256 },
      };
    case 'helm':
      return {
        source: 'helm',
        upstream: 'https://get.helm.sh',
        path: `helm-v${v}-linux-${arch}.tar.gz`,
        checksum: { path: `helm-v${v}-linux-${arch}.tar.gz.sha256sum` },
        member: `linux-${arch}/helm`,
      };
    case 'kustomize':
      // Tags are `kustomize/vX`; the slash is escaped in release URLs.
      return {
        source: 'kustomize',
        upstream: `${GITHUB}/kubernetes-sigs/kustomize/releases/download`,
        path: `kustomize%2Fv${v}/kustomize_v${v}_linux_${arch}.tar.gz`,
        checksum: { path: `kustomize%2Fv${v}/checksums.txt` },
        member: 'kustomize',
      };
    case 'cni-bridge':
    case 'cni-host-local':
    case 'cni-loopback':
    case 'cni-portmap':
    case 'flanneld':
    case 'cni-flannel':
    case 'local-path-provisioner':
    case 'runsc':
    case 'containerd-shim-runsc-v1':
      throw new Error(`${name} has no release layout (built from the Go module proxy)`);
    case 'pulumi':
      // Pulumi names amd64 `x64`; its checksum file has no `v` before the version.
      return {
        source: 'pulumi',
        upstream: 'https://get.pulumi.com/releases/sdk',
        path: `pulumi-v${v}-linux-${arch === 'amd64' ? 'x64' : 'arm64'}.tar.gz`,
        checksum: { path: `pulumi-${v}-checksums.txt` },
        member: 'pulumi/pulumi',
      };
  }
}

/** Linux amd64/arm64 are published; anything else is built. */
export function releaseArch(platform: NodeJS.Platform, arch: string): ReleaseArch | undefined {
  if (platform !== 'linux') return undefined;
  if (arch === 'x64') return 'amd64';
  if (arch === 'arm64') return 'arm64';
  return undefined;
}

/** The base URL that replaces `upstream` for `source`, following the mirror settings. */
export function mirroredBase(source: ReleaseSource, upstream: string, env: NodeJS.ProcessEnv): string {
  const own = env[`INFRA_RELEASE_MIRROR_${source.toUpperCase()}`];
  if (own) return own.replace(/\/+$/, '');
  const mirror = env['INFRA_RELEASE_MIRROR'];
  if (mirror) return `${mirror.replace(/\/+$/, '')}/${upstream.replace(/^https?:\/\//, '')}`;
  return upstream;
}

export function releaseArtifact(
  name: BinaryName,
  platform: { readonly platform: NodeJS.Platform; readonly arch: string },
  env: NodeJS.ProcessEnv,
  version: string = BINARIES[name].version,
): ArtifactPlan {
  if (env['INFRA_OFFLINE'] === '1') return { kind: 'none', why: 'INFRA_OFFLINE=1' };
  if (name.startsWith('cni-')) return { kind: 'none', why: 'the CNI plugins are released as one archive; infra builds the ones it needs' };
  if ((ADDON_BINARY_NAMES as readonly string[]).includes(name)) return { kind: 'none', why: 'the add-ons on real nodes are built from the Go module proxy' };
  const arch = releaseArch(platform.platform, platform.arch);
  if (!arch) return { kind: 'none', why: `no release artifacts for ${platform.platform}/${platform.arch}` };
  const l = layout(name, version, arch);
  const base = mirroredBase(l.source, l.upstream, env);
  const fileName = decodeURIComponent(l.path.split('/').pop() ?? l.path);
  let checksum: ChecksumSource;
  if ('path' in l.checksum) {
    checksum = { kind: 'file', url: `${base}/${l.checksum.path}` };
  } else {
    const sha256 = l.checksum.pinned[arch];
    if (!sha256) return { kind: 'none', why: `${name} publishes no checksum and none is pinned for linux/${arch}` };
    checksum = { kind: 'pinned', sha256 };
  }
  return { kind: 'download', artifact: { source: l.source, url: `${base}/${l.path}`, fileName, checksum, member: l.member } };
}
