import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { createCertificateAuthority, createServiceAccountKey } from '../../clusters/local/pki.ts';
import { cacheBinDir } from '../../clusters/tools/resolver.ts';
import type { BinariesTopology } from '../../modules/distributions/binaries/topology.ts';
import { kubeadmUp, type KubeadmUpResult } from '../../modules/distributions/kubeadm/effects/kubeadm-up.ts';
import type { KubeadmInputs } from '../../modules/distributions/kubeadm/kubeadm-config.ts';
import type { KubeadmCas } from '../../modules/distributions/kubeadm/kubeadm-steps.ts';
import type { HostAccess } from '../../modules/hosts/host-access.ts';
import { runOnHost, startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

/**
 * The kubeadm distribution for real on SSH hosts (systemd-nspawn): `kubeadm init` on the
 * control plane and `kubeadm join` on a worker, run as the distribution's steps over the SSH
 * layer as a non-root sudo user, with the control-plane images built here from the pinned
 * binaries and imported with ctr (the hosts have no registry). Driven from the test: no stack
 * field picks kubeadm yet.
 */

let hosts: TestHost[];
let dir: string;
let env: NodeJS.ProcessEnv;
let inputs: KubeadmInputs;
let cas: KubeadmCas;
let access: Record<string, HostAccess>;
let kubeconfig: string;
const KUBECTL = join(cacheBinDir(), 'kubectl-v1.34.4', 'kubectl');

const kubectl = async (...args: string[]) => {
  const r = await runCommand(KUBECTL, [`--kubeconfig=${kubeconfig}`, ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** On failure, what the hosts say (kubelet and containerd journals): the error must show why. */
async function explain(err: unknown): Promise<never> {
  const journals = await Promise.all(hosts.map((h) => runOnHost(h, ['sh', '-c', 'journalctl -u kubelet -u containerd --no-pager -n 30 | cut -c1-300']).catch((e: Error) => e.message)));
  throw new Error(`${(err as Error).message}\n${journals.join('\n---\n')}`);
}

async function up(): Promise<KubeadmUpResult> {
  return kubeadmUp({ inputs, cas, access, env }).catch(explain);
}

beforeAll(async () => {
  hosts = await startTestHosts({ count: 2, prefix: 'kadm' });
  dir = await mkdtemp(join(tmpdir(), 'infra-kubeadm-hosts-'));
  const subnet = hosts[0]!.address.split('.').slice(0, 3).join('.');
  const sshConfig = join(dir, 'ssh_config');
  await writeFile(sshConfig, `Host ${subnet}.*\n  User alice\n  IdentityFile ${hosts[0]!.users.alice.keyPath}\n  IdentitiesOnly yes\n`, { mode: 0o600 });
  env = { ...process.env, INFRA_OFFLINE: '1', INFRA_SSH_CONFIG: sshConfig };
  access = Object.fromEntries(hosts.map((h) => {
    const [type, publicKey] = h.hostPublicKey.split(' ') as [string, string];
    return [h.name, { name: h.name, address: h.address, user: 'alice', port: h.port, pins: [{ name: h.address, type, publicKey, fingerprint: h.hostKeyFingerprint }] }];
  }));
  const [cp, worker] = hosts as [TestHost, TestHost];
  const topology: BinariesTopology = {
    cluster: 'kadm',
    version: '1.34.4',
    controlPlanes: [{ name: cp.name, address: cp.address, user: 'alice', port: cp.port }],
    workers: [{ name: worker.name, address: worker.address, user: 'alice', port: worker.port, podCidr: '10.244.2.0/24' }],
    apiserverUrl: `https://${cp.address}:6443`,
    serviceCidr: '10.96.0.0/16',
    kubernetesServiceIp: '10.96.0.1',
    clusterCidr: '10.244.0.0/16',
    clusterDomain: 'cluster.local',
  };
  cas = { ca: await createCertificateAuthority('kadm-ca'), frontProxyCa: await createCertificateAuthority('kadm-front-proxy-ca'), etcdCa: await createCertificateAuthority('kadm-etcd-ca'), serviceAccount: await createServiceAccountKey() };
  // The test hosts are containers whose cgroups only cgroupfs drives (docs/BUILD-NOTES.md).
  inputs = { topology, token: 'kadm01.0123456789abcdef', caCert: cas.ca.cert, cgroupDriver: 'cgroupfs' };
}, 600_000);

afterAll(async () => {
  await stopTestHosts();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kubeadm distribution on SSH hosts', () => {
  it('kubeadm init on the control plane and join on the worker: nodes Ready', async () => {
    const first = await up();
    expect(first.runs.map((r) => r.host)).toEqual(hosts.map((h) => h.name));
    for (const r of first.runs) expect(r.outcomes.find((o) => o.id === 'kubeadm:init' || o.id === 'kubeadm:join')?.changed).toBe(true);
    kubeconfig = join(dir, 'admin.conf');
    await writeFile(kubeconfig, first.adminKubeconfig, { mode: 0o600 });
    // The control plane runs as kubeadm's static Pods, from the images infra built and imported.
    const images = await runOnHost(hosts[0]!, ['ctr', '-n', 'k8s.io', 'images', 'ls', '-q']);
    for (const name of ['kube-apiserver:v1.34.4', 'kube-controller-manager:v1.34.4', 'kube-scheduler:v1.34.4', 'etcd:3.6.16-0', 'pause:3.10.1']) expect(images).toContain(`infra.local/k8s/${name}`);
    await kubectl('wait', '--for=condition=Ready', 'node', '--all', '--timeout=180s').catch(explain);
    const nodes = await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}');
    expect(nodes.trim().split('\n').sort()).toEqual(hosts.map((h) => `${h.name}=True`));
    const staticPods = await kubectl('get', 'pods', '-n', 'kube-system', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}');
    expect(staticPods.trim().split('\n').sort()).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((p) => `${p}-${hosts[0]!.name}=Running`));
  }, 900_000);

  it('runs a Pod on the worker as a real process', async () => {
    const manifest = join(dir, 'sleeper.json');
    await writeFile(manifest, JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sleeper', namespace: 'default' },
      spec: { nodeName: hosts[1]!.name, containers: [{ name: 'sleeper', image: 'infra.local/pause:1', imagePullPolicy: 'Never' }] },
    }));
    await kubectl('apply', '-f', manifest);
    await kubectl('wait', '--for=condition=Ready', 'pod/sleeper', '--timeout=120s').catch(explain);
    expect(await kubectl('get', 'pod', 'sleeper', '-o', 'jsonpath={.status.phase}')).toBe('Running');
    // A Pod IP from the worker's range in the bridge CNI config.
    expect(await kubectl('get', 'pod', 'sleeper', '-o', 'jsonpath={.status.podIP}')).toMatch(/^10\.244\.2\./);
    expect(Number((await runOnHost(hosts[1]!, ['sh', '-c', 'pgrep -c -x pause || true'])).trim())).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('a second run changes nothing on any host', async () => {
    const again = await up();
    expect(again.runs.map((r) => [r.host, r.mutations, r.outcomes.filter((o) => o.changed).map((o) => o.id)])).toEqual(hosts.map((h) => [h.name, 0, []]));
  }, 600_000);
});
