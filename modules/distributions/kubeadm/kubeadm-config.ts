import { createHash, X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import { ETCD_VERSION } from '../../../clusters/tools/versions.ts';
import { APISERVER_PORT, type BinariesTopology, type ClusterHost } from '../binaries/topology.ts';

/**
 * kubeadm's configuration files for a cluster on existing hosts, as text. Pure: the topology,
 * the bootstrap token and the cluster CA (generated locally, uploaded to every control-plane
 * host, so joins can pin it by hash) in, YAML out — checked by the real `kubeadm config
 * validate` in the tests.
 */

export const KUBEADM_API = 'kubeadm.k8s.io/v1beta4';
export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';
/** Hosts have no registry: the control-plane images must be imported under this name first. */
export const IMAGE_REPOSITORY = 'infra.local/k8s';
export const CONFIG_DIR = '/etc/kubernetes/infra';
export const ETCD_IMAGE_TAG = `${ETCD_VERSION}-0`;

/** `[a-z0-9]{6}.[a-z0-9]{16}`, as kubeadm wants it. */
export const BOOTSTRAP_TOKEN_PATTERN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

export interface KubeadmInputs {
  readonly topology: BinariesTopology;
  /** A bootstrap token kept as a secret in the stack's state. */
  readonly token: string;
  /** The cluster CA certificate (PEM); its key goes to control-plane hosts only. */
  readonly caCert: string;
  readonly cgroupDriver: 'systemd' | 'cgroupfs';
}

/** `sha256:<hex>` of the CA's SubjectPublicKeyInfo: what `discovery.bootstrapToken.caCertHashes` pins. */
export function caCertHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

function endpoint(t: BinariesTopology): string {
  const first = t.controlPlanes[0];
  if (!first) throw new Error(`cluster "${t.cluster}" has no control-plane host`);
  return `${first.address}:${APISERVER_PORT}`;
}

/** A cluster of control-plane hosts only runs its Pods there: no NoSchedule taint then. */
function nodeRegistration(t: BinariesTopology, host: ClusterHost, controlPlane: boolean) {
  const untainted = controlPlane && t.workers.every((w) => t.controlPlanes.some((c) => c.name === w.name));
  return {
    name: host.name,
    criSocket: CRI_SOCKET,
    imagePullPolicy: 'Never',
    kubeletExtraArgs: [{ name: 'node-ip', value: host.address }],
    ...(untainted ? { taints: [] } : {}),
  };
}

const docs = (...objects: object[]) => objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');

export function initConfig(i: KubeadmInputs): string {
  const t = i.topology;
  const first = t.controlPlanes[0] as ClusterHost;
  if (!BOOTSTRAP_TOKEN_PATTERN.test(i.token)) throw new Error('the bootstrap token must match [a-z0-9]{6}.[a-z0-9]{16}');
  return docs(
    {
      apiVersion: KUBEADM_API,
      kind: 'InitConfiguration',
      bootstrapTokens: [{ token: i.token, ttl: '2h0m0s', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] }],
      localAPIEndpoint: { advertiseAddress: first.address, bindPort: APISERVER_PORT },
      nodeRegistration: nodeRegistration(t, first, true),
    },
    {
      apiVersion: KUBEADM_API,
      kind: 'ClusterConfiguration',
      clusterName: t.cluster,
      kubernetesVersion: `v${t.version}`,
      controlPlaneEndpoint: endpoint(t),
      imageRepository: IMAGE_REPOSITORY,
      certificatesDir: '/etc/kubernetes/pki',
      networking: { serviceSubnet: t.serviceCidr, podSubnet: t.clusterCidr, dnsDomain: t.clusterDomain },
      // The etcd image is built from the pinned etcd binary: tagged with its version.
      etcd: { local: { dataDir: '/var/lib/etcd', imageTag: ETCD_IMAGE_TAG } },
      // kube-proxy execs iptables/nft from its image and CoreDNS needs kube-proxy's Service
      // routing; the images infra builds hold one static binary each (README: kubeadm on hosts).
      proxy: { disabled: true },
      dns: { disabled: true },
      apiServer: { certSANs: t.controlPlanes.map((c) => c.address) },
    },
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: i.cgroupDriver,
    },
  );
}

export function joinConfig(i: KubeadmInputs, host: ClusterHost, controlPlane: boolean): string {
  const t = i.topology;
  return docs({
    apiVersion: KUBEADM_API,
    kind: 'JoinConfiguration',
    discovery: { bootstrapToken: { apiServerEndpoint: endpoint(t), token: i.token, caCertHashes: [caCertHash(i.caCert)] } },
    nodeRegistration: nodeRegistration(t, host, controlPlane),
    ...(controlPlane ? { controlPlane: { localAPIEndpoint: { advertiseAddress: host.address, bindPort: APISERVER_PORT } } } : {}),
  });
}
