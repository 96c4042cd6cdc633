import { stringify } from 'yaml';
import { BIN_DIR, IMAGE_DIR, PAUSE_IMAGE, UNIT_DIR } from '../binaries/layout.ts';
import { binaryStep, fileSteps, serviceStep, waitStep, type Artifacts, type LocalArtifact, type Step } from '../binaries/steps.ts';
import type { HostFile } from '../binaries/host-files.ts';
import { APISERVER_PORT, type BinariesTopology, type ClusterHost } from '../binaries/topology.ts';

/**
 * The `k3s` distribution over the SSH layer, as data: K3s's config file and unit per host, and
 * the ordered check-before-change steps (the binaries distribution's Step and executor). K3s
 * runs with the host's containerd (`container-runtime-endpoint`) and the locally built pause
 * image; the components that would pull images (Traefik, ServiceLB, metrics-server, local-path)
 * are disabled, since hosts have no registry. Servers run embedded etcd (`cluster-init`), so
 * one server and three behave alike. NOT run for real here: see README (K3s cannot be built
 * from the Go module proxy on this machine).
 */

export const K3S_CONFIG = '/etc/rancher/k3s/config.yaml';
export const K3S_KUBECONFIG = '/etc/rancher/k3s/k3s.yaml';
export const CONTAINERD_SOCKET = 'unix:///run/containerd/containerd.sock';
export const DISABLED = ['traefik', 'servicelb', 'metrics-server', 'local-storage'] as const;

export interface K3sInputs {
  readonly topology: BinariesTopology;
  /** The cluster's join secret, kept as a secret in the stack's state. */
  readonly token: string;
}

function common(i: K3sInputs, host: ClusterHost) {
  return {
    token: i.token,
    'node-name': host.name,
    'node-ip': host.address,
    'container-runtime-endpoint': CONTAINERD_SOCKET,
    'pause-image': PAUSE_IMAGE,
  };
}

export function serverConfig(i: K3sInputs, host: ClusterHost): string {
  const t = i.topology;
  const first = t.controlPlanes[0];
  const isFirst = first?.name === host.name;
  const config = {
    ...common(i, host),
    ...(isFirst ? { 'cluster-init': true } : { server: `https://${first?.address}:${APISERVER_PORT}` }),
    'advertise-address': host.address,
    'tls-san': t.controlPlanes.map((c) => c.address),
    'cluster-cidr': t.clusterCidr,
    'service-cidr': t.serviceCidr,
    'cluster-domain': t.clusterDomain,
    'write-kubeconfig-mode': '0600',
    disable: [...DISABLED],
    // Control-plane hosts are tainted when the cluster has workers of its own.
    ...(t.workers.some((w) => !t.controlPlanes.some((c) => c.name === w.name)) ? { 'node-taint': ['node-role.kubernetes.io/control-plane:NoSchedule'] } : {}),
  };
  return stringify(config, { lineWidth: 0 });
}

export function agentConfig(i: K3sInputs, host: ClusterHost): string {
  const first = i.topology.controlPlanes[0];
  return stringify({ ...common(i, host), server: `https://${first?.address}:${APISERVER_PORT}` }, { lineWidth: 0 });
}

export function k3sUnit(role: 'server' | 'agent'): string {
  return [
    '[Unit]',
    `Description=k3s ${role} (managed by infra)`,
    'After=network-online.target containerd.service',
    'Wants=network-online.target containerd.service',
    '',
    '[Service]',
    'Type=notify',
    `ExecStart=${BIN_DIR}/k3s ${role}`,
    'KillMode=process',
    'Delegate=yes',
    'LimitNOFILE=1048576',
    'Restart=always',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

function files(i: K3sInputs, host: ClusterHost, role: 'server' | 'agent'): HostFile[] {
  const service = `k3s-${role}`;
  return [
    { path: K3S_CONFIG, content: role === 'server' ? serverConfig(i, host) : agentConfig(i, host), mode: 0o600, secret: true, service },
    { path: `${UNIT_DIR}/${service}.service`, content: k3sUnit(role), mode: 0o644, secret: false, service },
  ];
}

export function k3sSteps(i: K3sInputs, host: ClusterHost, role: 'server' | 'agent', a: Artifacts): Step[] {
  const service = `k3s-${role}`;
  const hostFiles = files(i, host, role);
  const tarball = `${IMAGE_DIR}/pause.tar`;
  return [
    binaryStep('k3s', artifact(a, 'k3s')),
    ...fileSteps(hostFiles),
    serviceStep('containerd', []),
    {
      id: 'image:pause',
      title: 'upload the pause image',
      check: `[ "$(sha256sum ${tarball} 2>/dev/null | cut -c1-64)" = ${a.pauseImage.sha256} ]`,
      apply: [{ kind: 'upload', source: { kind: 'local', path: a.pauseImage.path }, path: tarball, mode: 0o644, sha256: a.pauseImage.sha256 }],
    },
    {
      id: 'image:pause:import',
      title: `import ${PAUSE_IMAGE}`,
      check: `ctr -n k8s.io images ls -q | grep -qxF ${PAUSE_IMAGE}`,
      apply: [{ kind: 'run', script: `ctr -n k8s.io images import --all-platforms ${tarball} >/dev/null` }],
      rerunAfter: ['image:pause'],
    },
    serviceStep(service, ['binary:k3s', ...hostFiles.map((f) => `file:${f.path}`)]),
    ...(role === 'server'
      ? [waitStep(`wait:node:${host.name}`, `wait for node ${host.name} Ready`, `${BIN_DIR}/k3s kubectl --kubeconfig=${K3S_KUBECONFIG} get node ${host.name} -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True`, 180)]
      : []),
  ];
}

/** The first server alone (it creates the cluster), other servers one at a time (one etcd member each), then all agents. */
export function k3sWaves(t: BinariesTopology): string[][] {
  const servers = t.controlPlanes.map((h) => h.name);
  const agents = t.workers.map((w) => w.name).filter((n) => !servers.includes(n));
  return [...servers.map((n) => [n]), ...(agents.length > 0 ? [agents] : [])];
}

function artifact(a: Artifacts, name: string): LocalArtifact {
  const found = a.binaries[name];
  if (!found) throw new Error(`no local artifact for ${name}: K3s cannot be built here (see README)`);
  return found;
}
