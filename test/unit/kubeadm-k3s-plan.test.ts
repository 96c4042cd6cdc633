import { X509Certificate, createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { createCertificateAuthority, createServiceAccountKey, type PemPair } from '../../clusters/local/pki.ts';
import type { Artifacts, Step } from '../../modules/distributions/binaries/steps.ts';
import type { BinariesTopology } from '../../modules/distributions/binaries/topology.ts';
import { agentConfig, k3sSteps, k3sWaves, serverConfig } from '../../modules/distributions/k3s/k3s-plan.ts';
import { caCertHash, initConfig, joinConfig, type KubeadmInputs } from '../../modules/distributions/kubeadm/kubeadm-config.ts';
import { firstControlPlaneSteps, joinSteps, kubeadmNodes, kubeadmWaves, type KubeadmArtifacts, type KubeadmCas } from '../../modules/distributions/kubeadm/kubeadm-steps.ts';

/** What the kubeadm and K3s distributions generate, and the order of their steps. Pure. */

const host = (name: string, n: number) => ({ name, address: `10.213.0.${n}`, user: 'root', port: 22 });
const topology = (cps: number, workers: number): BinariesTopology => {
  const controlPlanes = Array.from({ length: cps }, (_, i) => host(`cp-${i + 1}`, 11 + i));
  const ws = Array.from({ length: workers }, (_, i) => ({ ...host(`w-${i + 1}`, 21 + i), podCidr: `10.244.${i + 1}.0/24` }));
  return {
    cluster: 'prod',
    version: '1.34.4',
    controlPlanes,
    workers: ws.length > 0 ? ws : controlPlanes.map((c, i) => ({ ...c, podCidr: `10.244.${i + 1}.0/24` })),
    apiserverUrl: 'https://10.213.0.11:6443',
    serviceCidr: '10.96.0.0/16',
    kubernetesServiceIp: '10.96.0.1',
    clusterCidr: '10.244.0.0/16',
    clusterDomain: 'cluster.local',
  };
};
const art = (name: string) => ({ path: `/cache/${name}`, sha256: createHash('sha256').update(name).digest('hex') });
const artifacts: KubeadmArtifacts = {
  binaries: { kubeadm: art('kubeadm'), kubelet: art('kubelet'), kubectl: art('kubectl'), k3s: art('k3s'), 'cni-bridge': art('cni-bridge'), 'cni-host-local': art('cni-host-local'), 'cni-loopback': art('cni-loopback'), 'cni-portmap': art('cni-portmap') },
  pauseImage: art('pause'),
  controlPlaneImages: [
    { reference: 'infra.local/k8s/kube-apiserver:v1.34.4', id: 'kubeadm-kube-apiserver', archive: art('kube-apiserver.tar') },
    { reference: 'infra.local/k8s/etcd:3.6.16-0', id: 'kubeadm-etcd', archive: art('etcd.tar') },
  ],
  pauseTag: 'infra.local/k8s/pause:3.10.1',
};
const ids = (steps: readonly Step[]) => steps.map((s) => s.id);

let ca: PemPair;
let cas: KubeadmCas;
beforeAll(async () => {
  ca = await createCertificateAuthority('infra-prod-ca');
  cas = { ca, frontProxyCa: await createCertificateAuthority('front-proxy-ca'), etcdCa: await createCertificateAuthority('etcd-ca'), serviceAccount: await createServiceAccountKey() };
});

describe('kubeadm', () => {
  const inputs = (t: BinariesTopology): KubeadmInputs => ({ topology: t, token: 'abcdef.0123456789abcdef', caCert: ca.cert, cgroupDriver: 'systemd' });

  it('init: token, this host\'s address, the pinned version, the stack\'s ranges, images from the local repository, never pulled', () => {
    const docs = parseAllDocuments(initConfig(inputs(topology(3, 2)))).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(['InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration']);
    const [init, cluster] = docs;
    expect(init.bootstrapTokens[0].token).toBe('abcdef.0123456789abcdef');
    expect(init.localAPIEndpoint).toEqual({ advertiseAddress: '10.213.0.11', bindPort: 6443 });
    expect(init.nodeRegistration).toMatchObject({ name: 'cp-1', criSocket: 'unix:///run/containerd/containerd.sock', imagePullPolicy: 'Never' });
    // Workers exist: the control plane keeps kubeadm's default taint.
    expect(init.nodeRegistration.taints).toBeUndefined();
    expect(cluster).toMatchObject({ kubernetesVersion: 'v1.34.4', controlPlaneEndpoint: '10.213.0.11:6443', imageRepository: 'infra.local/k8s', networking: { podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/16' } });
    expect(cluster.apiServer.certSANs).toEqual(['10.213.0.11', '10.213.0.12', '10.213.0.13']);
  });

  it('a cluster of control-plane hosts only: no taint, so its Pods can run', () => {
    expect(parseAllDocuments(initConfig(inputs(topology(1, 0))))[0]?.toJS().nodeRegistration.taints).toEqual([]);
  });

  it('join pins the CA by the SHA-256 of its public key; control-plane joins advertise their own address', () => {
    const t = topology(3, 1);
    const spki = new X509Certificate(ca.cert).publicKey.export({ type: 'spki', format: 'der' });
    expect(caCertHash(ca.cert)).toBe(`sha256:${createHash('sha256').update(spki).digest('hex')}`);
    const worker = parse(joinConfig(inputs(t), t.workers[0] as (typeof t.workers)[number], false));
    expect(worker.discovery.bootstrapToken).toEqual({ apiServerEndpoint: '10.213.0.11:6443', token: 'abcdef.0123456789abcdef', caCertHashes: [caCertHash(ca.cert)] });
    expect(worker.controlPlane).toBeUndefined();
    const cp2 = parse(joinConfig(inputs(t), t.controlPlanes[1] as (typeof t.controlPlanes)[number], true));
    expect(cp2.controlPlane.localAPIEndpoint.advertiseAddress).toBe('10.213.0.12');
  });

  it('refuses a token kubeadm would refuse', () => {
    expect(() => initConfig({ ...inputs(topology(1, 0)), token: 'short' })).toThrow(/\[a-z0-9\]\{6\}/);
  });

  it('steps: binaries, kubelet unit, containerd, images imported before init; init skipped once admin.conf exists; the token made again when expired', () => {
    const steps = firstControlPlaneSteps(inputs(topology(1, 1)), cas, artifacts);
    const order = ids(steps);
    for (const image of ['image:kubeadm-kube-apiserver:import', 'image:kubeadm-etcd:import', 'image:pause:tag']) {
      expect(order.indexOf('service:containerd')).toBeLessThan(order.indexOf(image));
      expect(order.indexOf(image)).toBeLessThan(order.indexOf('kubeadm:init'));
    }
    // An image already in containerd is not imported again.
    expect(steps.find((s) => s.id === 'image:kubeadm-etcd:import')?.check).toBe('ctr -n k8s.io images ls -q | grep -qx infra.local/k8s/etcd:3.6.16-0');
    expect(order.indexOf('file:/etc/kubernetes/pki/ca.key')).toBeLessThan(order.indexOf('kubeadm:init'));
    expect(order.slice(-3)).toEqual(['kubeadm:init', 'wait:apiserver', 'kubeadm:token']);
    const init = steps.find((s) => s.id === 'kubeadm:init');
    expect(init?.check).toBe('test -f /etc/kubernetes/admin.conf');
    // Every step checks before it changes: none always runs.
    for (const s of steps) expect(s.check).not.toBe('false');
    // Keys and the config (it holds the token) are secret and 0600.
    const secrets = steps.flatMap((s) => s.apply).filter((a) => a.kind === 'upload' && a.source.kind === 'text' && a.source.secret);
    expect(secrets.map((a) => (a.kind === 'upload' ? [a.path, a.mode] : []))).toEqual([
      ['/etc/kubernetes/pki/ca.key', 0o600],
      ['/etc/kubernetes/pki/front-proxy-ca.key', 0o600],
      ['/etc/kubernetes/pki/etcd/ca.key', 0o600],
      ['/etc/kubernetes/pki/sa.key', 0o600],
      ['/etc/kubernetes/infra/init.yaml', 0o600],
    ]);
  });

  it('workers get no CA key and join last; control planes join one at a time', () => {
    const t = topology(3, 2);
    const worker = joinSteps(inputs(t), t.workers[0] as (typeof t.workers)[number], false, cas, artifacts);
    expect(ids(worker).some((id) => id.includes('pki'))).toBe(false);
    expect(ids(worker).at(-1)).toBe('kubeadm:join');
    // Workers run no control-plane Pod: only the pause image goes there.
    expect(ids(worker).filter((id) => id.startsWith('image:'))).toEqual(['image:pause', 'image:pause:import', 'image:pause:tag']);
    // Every host is a node with its own Pod range, routed from the others (the binaries distribution's bridge CNI).
    expect(kubeadmNodes(t).map((n) => [n.name, n.podCidr])).toEqual([['cp-1', '10.244.1.0/24'], ['cp-2', '10.244.2.0/24'], ['cp-3', '10.244.3.0/24'], ['w-1', '10.244.4.0/24'], ['w-2', '10.244.5.0/24']]);
    expect(ids(worker).filter((id) => id.startsWith('route:'))).toEqual(['route:10.244.1.0/24', 'route:10.244.2.0/24', 'route:10.244.3.0/24', 'route:10.244.5.0/24']);
    expect(kubeadmWaves(t)).toEqual([['cp-1'], ['cp-2'], ['cp-3'], ['w-1', 'w-2']]);
    expect(kubeadmWaves(topology(1, 0))).toEqual([['cp-1']]);
  });
});

describe('K3s', () => {
  const inputs = (t: BinariesTopology) => ({ topology: t, token: 'k3s-secret-token' });

  it('the first server creates the cluster with embedded etcd; the others and the agents join it; the host containerd and the local pause image', () => {
    const t = topology(3, 1);
    const first = parse(serverConfig(inputs(t), t.controlPlanes[0] as (typeof t.controlPlanes)[number]));
    expect(first).toMatchObject({
      'cluster-init': true,
      token: 'k3s-secret-token',
      'node-name': 'cp-1',
      'container-runtime-endpoint': 'unix:///run/containerd/containerd.sock',
      'pause-image': 'infra.local/pause:1',
      disable: ['traefik', 'servicelb', 'metrics-server', 'local-storage'],
      'write-kubeconfig-mode': '0600',
      'node-taint': ['node-role.kubernetes.io/control-plane:NoSchedule'],
    });
    expect(first.server).toBeUndefined();
    const second = parse(serverConfig(inputs(t), t.controlPlanes[1] as (typeof t.controlPlanes)[number]));
    expect(second.server).toBe('https://10.213.0.11:6443');
    expect(second['cluster-init']).toBeUndefined();
    const agent = parse(agentConfig(inputs(t), t.workers[0] as (typeof t.workers)[number]));
    expect(agent).toEqual({ token: 'k3s-secret-token', 'node-name': 'w-1', 'node-ip': '10.213.0.21', 'container-runtime-endpoint': 'unix:///run/containerd/containerd.sock', 'pause-image': 'infra.local/pause:1', server: 'https://10.213.0.11:6443' });
  });

  it('a single server without workers is not tainted', () => {
    const t = topology(1, 0);
    expect(parse(serverConfig(inputs(t), t.controlPlanes[0] as (typeof t.controlPlanes)[number]))['node-taint']).toBeUndefined();
  });

  it('steps: binary and config before the service, containerd and the pause image first; servers wait for their node; order of hosts', () => {
    const t = topology(3, 2);
    const server = ids(k3sSteps(inputs(t), t.controlPlanes[0] as (typeof t.controlPlanes)[number], 'server', artifacts as Artifacts));
    expect(server).toEqual([
      'binary:k3s',
      'file:/etc/rancher/k3s/config.yaml',
      'file:/etc/systemd/system/k3s-server.service',
      'service:containerd',
      'image:pause',
      'image:pause:import',
      'service:k3s-server',
      'wait:node:cp-1',
    ]);
    const agentSteps = k3sSteps(inputs(t), t.workers[0] as (typeof t.workers)[number], 'agent', artifacts as Artifacts);
    expect(ids(agentSteps).at(-1)).toBe('service:k3s-agent');
    expect(agentSteps.find((s) => s.id === 'service:k3s-agent')?.rerunAfter).toEqual(['binary:k3s', 'file:/etc/rancher/k3s/config.yaml', 'file:/etc/systemd/system/k3s-agent.service']);
    expect(k3sWaves(t)).toEqual([['cp-1'], ['cp-2'], ['cp-3'], ['w-1', 'w-2']]);
  });

  it('without a k3s binary the plan says why', () => {
    const t = topology(1, 0);
    expect(() => k3sSteps(inputs(t), t.controlPlanes[0] as (typeof t.controlPlanes)[number], 'server', { ...artifacts, binaries: {} })).toThrow(/K3s cannot be built here/);
  });
});
