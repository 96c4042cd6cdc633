import { renderKubeconfig } from '../../../clusters/local/kubeconfig-file.ts';
import { certOf, type ClusterPki } from './cluster-pki.ts';
import { CNI_BIN_DIR, CNI_CONF_DIR, ETCD_DATA_DIR, ETCD_JOIN_ENV, KUBELET_DIR, PAUSE_IMAGE, kubeconfigPath, pki } from './layout.ts';
import { APISERVER_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT, etcdInitialCluster, etcdServers, type BinariesTopology, type ClusterHost, type WorkerNode } from './topology.ts';
import { nodeLabelsOf, podNetworkOf, runtimeHandlers } from './node-addons.ts';
import { systemdUnit } from './units.ts';

/**
 * The files each host of a `binaries` cluster needs, as text: certificates, kubeconfigs,
 * systemd units and configs. Pure: the same topology and PKI give byte-identical files, which
 * is what makes a second `up` find nothing to change.
 */
export interface HostFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
  /** Holds a private key: never printed, never in a preview. */
  readonly secret: boolean;
  /** The service to restart when this file changes. */
  readonly service?: string;
}

export interface NodeOptions {
  /** `systemd` or `cgroupfs`: must be the same for containerd's runc and the kubelet. */
  readonly cgroupDriver: 'systemd' | 'cgroupfs';
}

const certFiles = (p: ClusterPki, file: string, stem = file, service?: string): HostFile[] => [
  { path: pki(`${stem}.crt`), content: certOf(p, file).cert, mode: 0o644, secret: false, ...(service ? { service } : {}) },
  { path: pki(`${stem}.key`), content: certOf(p, file).key, mode: 0o600, secret: true, ...(service ? { service } : {}) },
];

function kubeconfig(t: BinariesTopology, p: ClusterPki, who: string, certFile: string, server: string, service: string): HostFile {
  const pair = certOf(p, certFile);
  const content = renderKubeconfig({ contextName: `infra-${t.cluster}`, server, user: who, ca: { data: p.ca.cert }, clientCert: { data: pair.cert }, clientKey: { data: pair.key } });
  return { path: kubeconfigPath(who), content, mode: 0o600, secret: true, service };
}

export function controlPlaneFiles(t: BinariesTopology, host: ClusterHost, p: ClusterPki): HostFile[] {
  const local = `https://127.0.0.1:${APISERVER_PORT}`;
  return [
    { path: pki('ca.crt'), content: p.ca.cert, mode: 0o644, secret: false },
    // The controller-manager signs CSRs with the CA key; only control-plane hosts get it.
    { path: pki('ca.key'), content: p.ca.key, mode: 0o600, secret: true, service: 'kube-controller-manager' },
    { path: pki('sa.key'), content: p.serviceAccount.key, mode: 0o600, secret: true, service: 'kube-apiserver' },
    { path: pki('sa.pub'), content: p.serviceAccount.pub, mode: 0o644, secret: false, service: 'kube-apiserver' },
    ...certFiles(p, `etcd-server-${host.name}`, 'etcd-server', 'etcd'),
    ...certFiles(p, `etcd-peer-${host.name}`, 'etcd-peer', 'etcd'),
    ...certFiles(p, 'apiserver', 'apiserver', 'kube-apiserver'),
    ...certFiles(p, 'apiserver-etcd-client', 'apiserver-etcd-client', 'kube-apiserver'),
    ...certFiles(p, 'apiserver-kubelet-client', 'apiserver-kubelet-client', 'kube-apiserver'),
    kubeconfig(t, p, 'controller-manager', 'controller-manager', local, 'kube-controller-manager'),
    kubeconfig(t, p, 'scheduler', 'scheduler', local, 'kube-scheduler'),
    kubeconfig(t, p, 'admin', 'admin', local, 'kube-apiserver'),
    unitFile('etcd', etcdUnit(t, host)),
    unitFile('kube-apiserver', apiserverUnit(t, host)),
    unitFile('kube-controller-manager', controllerManagerUnit(t)),
    unitFile('kube-scheduler', schedulerUnit()),
  ];
}

export function workerFiles(t: BinariesTopology, node: WorkerNode, p: ClusterPki, options: NodeOptions): HostFile[] {
  return [
    { path: pki('ca.crt'), content: p.ca.cert, mode: 0o644, secret: false, service: 'kubelet' },
    ...certFiles(p, `kubelet-serving-${node.name}`, 'kubelet-serving', 'kubelet'),
    kubeconfig(t, p, 'kubelet', `kubelet-${node.name}`, t.apiserverUrl, 'kubelet'),
    { path: `${KUBELET_DIR}/config.yaml`, content: kubeletConfig(t, options), mode: 0o644, secret: false, service: 'kubelet' },
    { path: '/etc/containerd/config.toml', content: containerdConfig(options, runtimeHandlers(t.addons)), mode: 0o644, secret: false, service: 'containerd' },
    // With a CNI add-on its DaemonSet writes the CNI config: the node is NotReady until then.
    ...(podNetworkOf(t) === 'routes' ? [{ path: `${CNI_CONF_DIR}/10-infra-bridge.conflist`, content: cniConfig(node), mode: 0o644, secret: false, service: 'containerd' }] : []),
    unitFile('kubelet', kubeletUnit(node, nodeLabelsOf(t.addons))),
  ];
}

function unitFile(service: string, content: string): HostFile {
  return { path: `/etc/systemd/system/${service}.service`, content, mode: 0o644, secret: false, service };
}

function etcdUnit(t: BinariesTopology, h: ClusterHost): string {
  const client = `https://${h.address}:${ETCD_CLIENT_PORT}`;
  const peer = `https://${h.address}:${ETCD_PEER_PORT}`;
  return systemdUnit('etcd', 'etcd', [
    `--name=${h.name}`,
    `--data-dir=${ETCD_DATA_DIR}`,
    `--listen-client-urls=${client},https://127.0.0.1:${ETCD_CLIENT_PORT}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster-token=infra-${t.cluster}`,
    `--cert-file=${pki('etcd-server.crt')}`,
    `--key-file=${pki('etcd-server.key')}`,
    `--trusted-ca-file=${pki('ca.crt')}`,
    '--client-cert-auth=true',
    `--peer-cert-file=${pki('etcd-peer.crt')}`,
    `--peer-key-file=${pki('etcd-peer.key')}`,
    `--peer-trusted-ca-file=${pki('ca.crt')}`,
    '--peer-client-cert-auth=true',
    '--log-level=warn',
  ], [], [
    // Read by etcd only while its data dir is empty. The bootstrap values are here; a member
    // joining a running cluster gets `existing` and the current members from ETCD_JOIN_ENV,
    // written by the join (effects/etcd-join.ts), never planned, so the unit stays the same.
    `Environment=ETCD_INITIAL_CLUSTER=${etcdInitialCluster(t)}`,
    'Environment=ETCD_INITIAL_CLUSTER_STATE=new',
    `EnvironmentFile=-${ETCD_JOIN_ENV}`,
  ]);
}

function apiserverUnit(t: BinariesTopology, h: ClusterHost): string {
  return systemdUnit('kube-apiserver', 'kube-apiserver', [
    `--advertise-address=${h.address}`,
    `--secure-port=${APISERVER_PORT}`,
    `--etcd-servers=${etcdServers(t)}`,
    `--etcd-cafile=${pki('ca.crt')}`,
    `--etcd-certfile=${pki('apiserver-etcd-client.crt')}`,
    `--etcd-keyfile=${pki('apiserver-etcd-client.key')}`,
    `--tls-cert-file=${pki('apiserver.crt')}`,
    `--tls-private-key-file=${pki('apiserver.key')}`,
    `--client-ca-file=${pki('ca.crt')}`,
    `--kubelet-certificate-authority=${pki('ca.crt')}`,
    `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`,
    `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
    '--kubelet-preferred-address-types=InternalIP,Hostname',
    `--service-cluster-ip-range=${t.serviceCidr}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    `--service-account-issuer=https://kubernetes.default.svc.${t.clusterDomain}`,
    `--service-account-key-file=${pki('sa.pub')}`,
    `--service-account-signing-key-file=${pki('sa.key')}`,
    '--profiling=false',
  ], ['etcd.service']);
}

function controllerManagerUnit(t: BinariesTopology): string {
  return systemdUnit('kube-controller-manager', 'kube-controller-manager', [
    `--kubeconfig=${kubeconfigPath('controller-manager')}`,
    '--bind-address=127.0.0.1',
    // More than one control plane: only the leader acts.
    `--leader-elect=${t.controlPlanes.length > 1}`,
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki('sa.key')}`,
    `--root-ca-file=${pki('ca.crt')}`,
    `--cluster-signing-cert-file=${pki('ca.crt')}`,
    `--cluster-signing-key-file=${pki('ca.key')}`,
    `--cluster-name=${t.cluster}`,
    `--service-cluster-ip-range=${t.serviceCidr}`,
    // Pod ranges are assigned by infra (one per node, routed host to host), or, with a CNI add-on,
    // allocated here as each node's spec.podCIDR (what flanneld's --kube-subnet-mgr leases).
    ...(podNetworkOf(t) === 'routes' ? ['--allocate-node-cidrs=false'] : ['--allocate-node-cidrs=true', `--cluster-cidr=${t.clusterCidr}`, '--node-cidr-mask-size=24']),
    '--profiling=false',
  ], ['kube-apiserver.service']);
}

function schedulerUnit(): string {
  return systemdUnit('kube-scheduler', 'kube-scheduler', [
    `--kubeconfig=${kubeconfigPath('scheduler')}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=true',
    '--profiling=false',
  ], ['kube-apiserver.service']);
}

function kubeletUnit(node: WorkerNode, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`);
  return systemdUnit('kubelet', 'kubelet', [
    `--config=${KUBELET_DIR}/config.yaml`,
    `--kubeconfig=${kubeconfigPath('kubelet')}`,
    `--hostname-override=${node.name}`,
    `--node-ip=${node.address}`,
    // What the RuntimeClasses select (a node without the runsc handler must not claim it). Read only
    // when the kubelet registers its Node: a Node already there is labelled by node-labels.ts.
    // No flag without labels, so the unit of a cluster without sandbox runtimes stays as it was.
    ...(pairs.length > 0 ? [`--node-labels=${pairs.join(',')}`] : []),
    '--container-runtime-endpoint=unix:///run/containerd/containerd.sock',
    `--pod-infra-container-image=${PAUSE_IMAGE}`,
  ], ['containerd.service']);
}

export function kubeletConfig(t: BinariesTopology, options: NodeOptions): string {
  // JSON is YAML; no YAML writer quirks in a file whose bytes must be stable.
  return `${JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: pki('ca.crt') } },
      authorization: { mode: 'Webhook' },
      cgroupDriver: options.cgroupDriver,
      clusterDomain: t.clusterDomain,
      clusterDNS: [],
      tlsCertFile: pki('kubelet-serving.crt'),
      tlsPrivateKeyFile: pki('kubelet-serving.key'),
      failSwapOn: false,
      // Hosts may be containers: no kernel tunables to insist on, no swap accounting.
      protectKernelDefaults: false,
      serializeImagePulls: false,
      registerNode: true,
    },
    null,
    2,
  )}\n`;
}

export function containerdConfig(options: NodeOptions, handlers: readonly string[] = []): string {
  return [
    'version = 2',
    '',
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${PAUSE_IMAGE}"`,
    // Pods never get a lower OOM score than containerd itself: a node that is a container (no
    // CAP_SYS_RESOURCE) fails every sandbox otherwise (runc: "can't get final child's PID").
    '  restrict_oom_score_adj = true',
    '[plugins."io.containerd.grpc.v1.cri".containerd]',
    '  default_runtime_name = "runc"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    `  SystemdCgroup = ${options.cgroupDriver === 'systemd'}`,
    ...handlers,
    '[plugins."io.containerd.grpc.v1.cri".cni]',
    `  bin_dir = "${CNI_BIN_DIR}"`,
    `  conf_dir = "${CNI_CONF_DIR}"`,
    '',
  ].join('\n');
}

export function cniConfig(node: WorkerNode): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'infra',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: node.podCidr }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}
