import type { PemPair } from '../../../clusters/local/pki.ts';
import type { HostFile } from '../binaries/host-files.ts';
import { cniConfig, containerdConfig } from '../binaries/host-files.ts';
import { BIN_DIR, CNI_CONF_DIR, PAUSE_IMAGE, UNIT_DIR, pki } from '../binaries/layout.ts';
import { NODE_BINARIES, binaryStep, fileSteps, imageSteps, pauseImageSteps, podRouteSteps, serviceStep, waitStep, type Artifacts, type LocalArtifact, type Step } from '../binaries/steps.ts';
import type { BinariesTopology, ClusterHost, WorkerNode } from '../binaries/topology.ts';
import { CONFIG_DIR, initConfig, joinConfig, type KubeadmInputs } from './kubeadm-config.ts';

/**
 * The `kubeadm` distribution over the SSH layer: the ordered, check-before-change steps of
 * each host (the binaries distribution's Step and executor), and the order of hosts. kubeadm
 * does the control plane itself (static Pods from images imported beforehand); infra uploads
 * kubeadm, kubelet, kubectl, the shared CAs and kubeadm's configs, then runs `init` once and
 * `join` on every other host — each skipped when its result is already on the host.
 */

export interface KubeadmArtifacts extends Artifacts {
  /** The control-plane images (OCI archives built from the pinned binaries), named as `kubeadm config images list` prints them. */
  readonly controlPlaneImages: readonly { readonly reference: string; readonly id: string; readonly archive: LocalArtifact }[];
  /** kubeadm's name for the sandbox image (`.../pause:3.10.1`): infra's pause image is tagged so. */
  readonly pauseTag?: string;
}

/** The CAs kubeadm would otherwise make on the first host; made locally so every control plane gets the same. */
export interface KubeadmCas {
  readonly ca: PemPair;
  readonly frontProxyCa: PemPair;
  readonly etcdCa: PemPair;
  readonly serviceAccount: { readonly key: string; readonly pub: string };
}

const ADMIN = '/etc/kubernetes/admin.conf';
const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';

function caFiles(c: KubeadmCas): HostFile[] {
  const pair = (stem: string, p: PemPair): HostFile[] => [
    { path: pki(`${stem}.crt`), content: p.cert, mode: 0o644, secret: false },
    { path: pki(`${stem}.key`), content: p.key, mode: 0o600, secret: true },
  ];
  return [
    ...pair('ca', c.ca),
    ...pair('front-proxy-ca', c.frontProxyCa),
    ...pair('etcd/ca', c.etcdCa),
    { path: pki('sa.key'), content: c.serviceAccount.key, mode: 0o600, secret: true },
    { path: pki('sa.pub'), content: c.serviceAccount.pub, mode: 0o644, secret: false },
  ];
}

/** The kubelet unit kubeadm expects: flags come from files kubeadm writes during init/join. */
export function kubeletUnitFiles(): HostFile[] {
  const unit = ['[Unit]', 'Description=kubelet (managed by infra, configured by kubeadm)', 'After=containerd.service', 'Wants=containerd.service', '', '[Service]', `ExecStart=${BIN_DIR}/kubelet`, 'Restart=always', 'RestartSec=2', '', '[Install]', 'WantedBy=multi-user.target', ''].join('\n');
  const dropIn = [
    '[Service]',
    'Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"',
    'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"',
    'EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env',
    'ExecStart=',
    `ExecStart=${BIN_DIR}/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS`,
    '',
  ].join('\n');
  return [
    { path: `${UNIT_DIR}/kubelet.service`, content: unit, mode: 0o644, secret: false, service: 'kubelet' },
    { path: `${UNIT_DIR}/kubelet.service.d/10-kubeadm.conf`, content: dropIn, mode: 0o644, secret: false, service: 'kubelet' },
  ];
}

/**
 * Every host of a kubeadm cluster is a node (control planes run their static Pods through the
 * kubelet): each gets a Pod range for the same bridge CNI the binaries distribution uses.
 */
export function kubeadmNodes(t: BinariesTopology): WorkerNode[] {
  const hosts = [...t.controlPlanes, ...t.workers.filter((w) => !t.controlPlanes.some((c) => c.name === w.name))];
  return hosts.map((h, i) => ({ name: h.name, address: h.address, user: h.user, port: h.port, podCidr: `10.244.${i + 1}.0/24` }));
}

function nodeOf(t: BinariesTopology, host: ClusterHost): WorkerNode {
  const node = kubeadmNodes(t).find((n) => n.name === host.name);
  if (!node) throw new Error(`host ${host.name} is not in cluster ${t.cluster}`);
  return node;
}

function nodeBase(i: KubeadmInputs, host: ClusterHost, a: KubeadmArtifacts, controlPlane: boolean): Step[] {
  const t = i.topology;
  const node = nodeOf(t, host);
  const cni = NODE_BINARIES.filter((b) => b !== 'kubelet');
  const containerdFiles: HostFile[] = [
    { path: '/etc/containerd/config.toml', content: containerdConfig({ cgroupDriver: i.cgroupDriver }), mode: 0o644, secret: false, service: 'containerd' },
    { path: `${CNI_CONF_DIR}/10-infra-bridge.conflist`, content: cniConfig(node), mode: 0o644, secret: false, service: 'containerd' },
  ];
  const pauseTag = a.pauseTag;
  return [
    binaryStep('kubeadm', artifact(a, 'kubeadm')),
    binaryStep('kubelet', artifact(a, 'kubelet')),
    ...(controlPlane ? [binaryStep('kubectl', artifact(a, 'kubectl'))] : []),
    ...cni.map((b) => binaryStep(b, artifact(a, b))),
    ...fileSteps([...kubeletUnitFiles(), ...containerdFiles]),
    {
      id: 'sysctl:forward',
      title: 'enable IP forwarding',
      check: `[ "$(sysctl -n net.ipv4.ip_forward)" = 1 ]`,
      apply: [{ kind: 'run', script: 'sysctl -qw net.ipv4.ip_forward=1' }],
    },
    ...podRouteSteps(kubeadmNodes(t).filter((n) => n.name !== node.name)),
    serviceStep('containerd', [...cni.map((b) => `binary:${b}`), ...containerdFiles.map((f) => `file:${f.path}`)]),
    ...pauseImageSteps(a.pauseImage),
    ...(pauseTag
      ? [{ id: 'image:pause:tag', title: `tag the pause image ${pauseTag}`, check: `ctr -n k8s.io images ls -q | grep -qxF '${pauseTag}'`, apply: [{ kind: 'run', script: `ctr -n k8s.io images tag --force ${PAUSE_IMAGE} ${pauseTag} >/dev/null` }], rerunAfter: ['image:pause:import'] } satisfies Step]
      : []),
    ...(controlPlane ? a.controlPlaneImages.flatMap((img) => imageSteps(img.id, img.reference, img.archive)) : []),
    // kubeadm starts the kubelet itself; it must be enabled so it comes back after a reboot.
    { id: 'kubelet:enabled', title: 'enable kubelet', check: 'systemctl is-enabled --quiet kubelet', apply: [{ kind: 'run', script: 'systemctl daemon-reload && systemctl enable kubelet >/dev/null 2>&1' }] },
  ];
}

export function firstControlPlaneSteps(i: KubeadmInputs, cas: KubeadmCas, a: KubeadmArtifacts): Step[] {
  const config = `${CONFIG_DIR}/init.yaml`;
  const kubeadm = `${BIN_DIR}/kubeadm`;
  const tokenId = i.token.split('.')[0] ?? '';
  return [
    ...nodeBase(i, i.topology.controlPlanes[0] as ClusterHost, a, true),
    ...fileSteps([...caFiles(cas), { path: config, content: initConfig(i), mode: 0o600, secret: true }]),
    { id: 'kubeadm:init', title: 'kubeadm init', check: `test -f ${ADMIN}`, apply: [{ kind: 'run', script: `${kubeadm} init --config ${config} --skip-token-print` }] },
    waitStep('wait:apiserver', `wait for the apiserver on ${i.topology.controlPlanes[0]?.name ?? 'the first control plane'}`, `${BIN_DIR}/kubectl --kubeconfig=${ADMIN} get --raw=/readyz >/dev/null 2>&1`, 180),
    // The token expires (2 h): a later `up` that adds a host makes it again, under the same value.
    {
      id: 'kubeadm:token',
      title: 'bootstrap token for joins',
      check: `${kubeadm} token list --kubeconfig ${ADMIN} -o jsonpath='{.token}{"\\n"}' 2>/dev/null | grep -q '^${tokenId}\\.'`,
      apply: [{ kind: 'run', script: `${kubeadm} token create ${i.token} --ttl 2h --kubeconfig ${ADMIN} >/dev/null` }],
    },
  ];
}

export function joinSteps(i: KubeadmInputs, host: ClusterHost, controlPlane: boolean, cas: KubeadmCas, a: KubeadmArtifacts): Step[] {
  const config = `${CONFIG_DIR}/join.yaml`;
  return [
    ...nodeBase(i, host, a, controlPlane),
    ...fileSteps([...(controlPlane ? caFiles(cas) : []), { path: config, content: joinConfig(i, host, controlPlane), mode: 0o600, secret: true }]),
    { id: 'kubeadm:join', title: `kubeadm join${controlPlane ? ' --control-plane' : ''}`, check: `test -f ${KUBELET_CONF}`, apply: [{ kind: 'run', script: `${BIN_DIR}/kubeadm join --config ${config}` }] },
  ];
}

/**
 * Which hosts run when: the first control plane alone (init), then every other control plane
 * alone (each join adds one etcd member; two at once can lose quorum), then all workers at once.
 */
export function kubeadmWaves(t: BinariesTopology): string[][] {
  const cps = t.controlPlanes.map((h) => h.name);
  const workers = t.workers.map((w) => w.name).filter((n) => !cps.includes(n));
  return [...cps.map((n) => [n]), ...(workers.length > 0 ? [workers] : [])];
}

function artifact(a: Artifacts, name: string): LocalArtifact {
  const found = a.binaries[name];
  if (!found) throw new Error(`no local artifact for ${name}: resolve it before planning`);
  return found;
}
