import { createHash } from 'node:crypto';
import type { HostFile } from './host-files.ts';
import { BIN_DIR, CNI_BIN_DIR, ETCD_DATA_DIR, IMAGE_DIR, PAUSE_IMAGE, kubeconfigPath } from './layout.ts';
import type { BinariesTopology, ClusterHost, WorkerNode } from './topology.ts';
import { ADDON_IMAGES, podNetworkOf } from './node-addons.ts';

/**
 * The ordered steps of one host, each "check before change": `check` is a read-only script that
 * exits 0 when the host already is as wanted; only then is `apply` skipped. A step listed in
 * `rerunAfter` forces the apply when one of those steps changed something (a restart after a
 * new config or binary). A step with no apply only waits: its failed check fails the host. Pure data: `infra preview` prints it, the executor runs it.
 */
export interface Step {
  readonly id: string;
  readonly title: string;
  readonly check: string;
  readonly apply: readonly StepAction[];
  readonly rerunAfter?: readonly string[];
}

export type StepAction =
  | { readonly kind: 'upload'; readonly source: UploadSource; readonly path: string; readonly mode: number; readonly sha256: string }
  | { readonly kind: 'run'; readonly script: string };

/** A local binary from the cache, a pinned image tarball, or text planned in memory (certs, units). */
export type UploadSource = { readonly kind: 'local'; readonly path: string } | { readonly kind: 'text'; readonly content: string; readonly secret: boolean };

/** A binary or image tarball on this machine, with its digest (computed once before planning). */
export interface LocalArtifact {
  readonly path: string;
  readonly sha256: string;
}

export interface Artifacts {
  readonly binaries: Readonly<Record<string, LocalArtifact>>;
  readonly pauseImage: LocalArtifact;
  /** The add-on images the stack needs on its nodes (node-addons.ts), by name. */
  readonly addonImages?: Readonly<Record<string, LocalArtifact>>;
}

export const sha256Of = (text: string): string => createHash('sha256').update(text).digest('hex');
const octal = (mode: number): string => mode.toString(8);

/** Exit 0 when the file has this content and mode. */
function fileIsCheck(path: string, sha256: string, mode: number): string {
  return `[ "$(sha256sum ${path} 2>/dev/null | cut -c1-64)" = ${sha256} ] && [ "$(stat -c %a ${path})" = ${octal(mode)} ]`;
}

function uploadStep(id: string, title: string, path: string, mode: number, sha256: string, source: UploadSource): Step {
  return { id, title, check: fileIsCheck(path, sha256, mode), apply: [{ kind: 'upload', source, path, mode, sha256 }] };
}

export function binaryStep(name: string, artifact: LocalArtifact): Step {
  // CNI plugins are called by their type name from containerd's plugin directory.
  const path = name.startsWith('cni-') ? `${CNI_BIN_DIR}/${name.slice('cni-'.length)}` : `${BIN_DIR}/${name}`;
  return uploadStep(`binary:${name}`, `install ${name}`, path, 0o755, artifact.sha256, { kind: 'local', path: artifact.path });
}

export const NODE_BINARIES = ['kubelet', 'cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'] as const;

export function fileSteps(files: readonly HostFile[]): Step[] {
  const byPath = new Map<string, HostFile>();
  for (const f of files) if (!byPath.has(f.path)) byPath.set(f.path, f);
  return [...byPath.values()].map((f) => uploadStep(`file:${f.path}`, `write ${f.path}${f.secret ? ' (secret)' : ''}`, f.path, f.mode, sha256Of(f.content), { kind: 'text', content: f.content, secret: f.secret }));
}

/**
 * Enabled and running; restarted when one of its files or binaries changed (`daemon-reload`
 * first, since the unit file itself may be among them).
 */
export function serviceStep(service: string, changedBy: readonly string[]): Step {
  return {
    id: `service:${service}`,
    title: `start ${service}`,
    check: `systemctl is-enabled --quiet ${service} && systemctl is-active --quiet ${service}`,
    apply: [{ kind: 'run', script: `systemctl daemon-reload && systemctl enable ${service} >/dev/null 2>&1 && systemctl restart ${service}` }],
    rerunAfter: changedBy,
  };
}

/** Read-only wait: polls until `probe` succeeds (the remote loop awaits a condition, bounded). */
export function waitStep(id: string, title: string, probe: string, seconds: number): Step {
  const loop = `i=0; until ${probe}; do i=$((i+1)); if [ $i -ge ${seconds} ]; then echo "${title}: not after ${seconds}s" >&2; exit 1; fi; sleep 1; done`;
  return { id, title, check: loop, apply: [] };
}

const changedFor = (service: string, files: readonly HostFile[], binaries: readonly string[]): string[] => [
  ...binaries.map((b) => `binary:${b}`),
  ...files.filter((f) => f.service === service).map((f) => `file:${f.path}`),
];

export function controlPlaneSteps(host: ClusterHost, files: readonly HostFile[], artifacts: Artifacts): Step[] {
  const binaries = ['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'];
  const kubectl = `${BIN_DIR}/kubectl --kubeconfig=${kubeconfigPath('admin')}`;
  return [
    ...binaries.map((b) => binaryStep(b, artifactOf(artifacts, b))),
    ...fileSteps(files),
    etcdDataDirStep(),
    serviceStep('etcd', changedFor('etcd', files, ['etcd'])),
    serviceStep('kube-apiserver', changedFor('kube-apiserver', files, ['kube-apiserver'])),
    waitStep('wait:apiserver', `wait for the apiserver on ${host.name}`, `${kubectl} get --raw=/readyz >/dev/null 2>&1`, 180),
    serviceStep('kube-controller-manager', changedFor('kube-controller-manager', files, ['kube-controller-manager'])),
    serviceStep('kube-scheduler', changedFor('kube-scheduler', files, ['kube-scheduler'])),
  ];
}

export function workerSteps(t: BinariesTopology, node: WorkerNode, files: readonly HostFile[], artifacts: Artifacts): Step[] {
  const others = t.workers.filter((w) => w.name !== node.name);
  return [
    ...NODE_BINARIES.map((b) => binaryStep(b, artifactOf(artifacts, b))),
    ...fileSteps(files),
    {
      id: 'sysctl:forward',
      title: 'enable IP forwarding',
      check: `[ "$(sysctl -n net.ipv4.ip_forward)" = 1 ]`,
      apply: [{ kind: 'run', script: 'sysctl -qw net.ipv4.ip_forward=1' }],
    },
    ...(podNetworkOf(t) === 'routes' ? podRouteSteps(others) : []),
    ...runtimeBinarySteps(t, artifacts),
    serviceStep('containerd', changedFor('containerd', files, ['cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap', ...(t.addons?.gvisor ? GVISOR_BINARIES : [])])),
    ...pauseImageSteps(artifacts.pauseImage),
    ...addonImageSteps(t, artifacts),
    serviceStep('kubelet', changedFor('kubelet', files, ['kubelet'])),
  ];
}

const GVISOR_BINARIES = ['runsc', 'containerd-shim-runsc-v1'];

function runtimeBinarySteps(t: BinariesTopology, artifacts: Artifacts): Step[] {
  return t.addons?.gvisor ? GVISOR_BINARIES.map((b) => binaryStep(b, artifactOf(artifacts, b))) : [];
}

function addonImageSteps(t: BinariesTopology, artifacts: Artifacts): Step[] {
  return (t.addons?.images ?? []).flatMap((name) => {
    const archive = artifacts.addonImages?.[name];
    if (!archive) throw new Error(`no local artifact for the ${name} image: resolve it before planning`);
    return imageSteps(name, ADDON_IMAGES[name], archive);
  });
}

/** Pod ranges are routed host to host (every node is on one L2 network with the others). */
export function podRouteSteps(others: readonly WorkerNode[]): Step[] {
  return others.map((o): Step => ({
    id: `route:${o.podCidr}`,
    title: `route ${o.podCidr} via ${o.name}`,
    check: `ip route show ${o.podCidr} | grep -q "via ${o.address} "`,
    apply: [{ kind: 'run', script: `ip route replace ${o.podCidr} via ${o.address}` }],
  }));
}

/** An OCI archive uploaded to IMAGE_DIR and imported into containerd's k8s.io namespace (skipped when the image is there). */
export function imageSteps(id: string, reference: string, archive: LocalArtifact): Step[] {
  const tarball = `${IMAGE_DIR}/${id}.tar`;
  return [
    uploadStep(`image:${id}`, `upload the ${id} image`, tarball, 0o644, archive.sha256, { kind: 'local', path: archive.path }),
    {
      id: `image:${id}:import`,
      title: `import ${reference}`,
      check: `ctr -n k8s.io images ls -q | grep -qx ${reference}`,
      apply: [{ kind: 'run', script: `ctr -n k8s.io images import --all-platforms ${tarball} >/dev/null` }],
      rerunAfter: [`image:${id}`],
    },
  ];
}

export function pauseImageSteps(pause: LocalArtifact): Step[] {
  return imageSteps('pause', PAUSE_IMAGE, pause);
}

function artifactOf(a: Artifacts, name: string): LocalArtifact {
  const found = a.binaries[name];
  if (!found) throw new Error(`no local artifact for ${name}: resolve it before planning`);
  return found;
}

function etcdDataDirStep(): Step {
  return {
    id: 'dir:etcd',
    title: `create ${ETCD_DATA_DIR}`,
    check: `[ "$(stat -c %a ${ETCD_DATA_DIR} 2>/dev/null)" = 700 ]`,
    apply: [{ kind: 'run', script: `mkdir -p ${ETCD_DATA_DIR} && chmod 700 ${ETCD_DATA_DIR}` }],
  };
}
