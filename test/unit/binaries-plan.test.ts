import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureClusterPki, type ClusterPki } from '../../modules/distributions/binaries/cluster-pki.ts';
import { containerdConfig, controlPlaneFiles, workerFiles } from '../../modules/distributions/binaries/host-files.ts';
import { ociArchive } from '../../modules/distributions/binaries/oci-archive.ts';
import { runSteps, type StepHost } from '../../modules/distributions/binaries/run-steps.ts';
import { controlPlaneSteps, workerSteps, type Artifacts } from '../../modules/distributions/binaries/steps.ts';
import { planTopology, TopologyError, type BinariesTopology } from '../../modules/distributions/binaries/topology.ts';
import { HostStepError } from '../../modules/distributions/binaries/errors.ts';
import type { ClusterSpec, HostSpec } from '../../stacks/model.ts';

const host = (name: string, n: number): HostSpec => ({ name, site: 'lab', address: `10.213.0.${n}`, user: 'root', port: 22, arch: 'amd64', disks: [] });
const HOSTS = [host('cp1', 11), host('cp2', 12), host('cp3', 13), host('w1', 21), host('w2', 22)];
const cluster = (hosts: string[], controlPlanes: number): ClusterSpec => ({
  name: 'lab', local: false, labels: {}, site: 'lab', distribution: 'kubernetes', version: '1.34.4', controlPlanes, nodes: hosts.length - controlPlanes,
  hosts, datastore: 'embedded-etcd', cni: 'bridge', csi: 'none', runtimes: [],
});
const artifacts: Artifacts = {
  binaries: Object.fromEntries(['etcd', 'etcdctl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubelet', 'cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'].map((b) => [b, { path: `/cache/${b}`, sha256: 'a'.repeat(64) }])),
  pauseImage: { path: '/cache/pause.tar', sha256: 'b'.repeat(64) },
};

describe('binaries topology', () => {
  it('puts the first hosts in the control plane and gives each worker its own Pod range', () => {
    const t = planTopology(cluster(['cp1', 'w1', 'w2'], 1), HOSTS);
    expect(t.controlPlanes.map((h) => h.name)).toEqual(['cp1']);
    expect(t.workers.map((w) => [w.name, w.podCidr])).toEqual([['w1', '10.244.1.0/24'], ['w2', '10.244.2.0/24']]);
    expect(t.apiserverUrl).toBe('https://10.213.0.11:6443');
  });

  it('refuses more control planes than hosts and unknown hosts', () => {
    expect(() => planTopology(cluster(['cp1', 'cp2'], 3), HOSTS)).toThrow(/at least as many hosts/);
    expect(() => planTopology(cluster(['cp1', 'nope'], 1), HOSTS)).toThrow(TopologyError);
  });
});

describe('binaries PKI', () => {
  let t: BinariesTopology;
  let pki: ClusterPki;
  beforeAll(async () => {
    t = planTopology(cluster(['cp1', 'cp2', 'cp3', 'w1'], 3), HOSTS);
    pki = await ensureClusterPki(t);
  });

  it('issues one identity per etcd member and per kubelet from the cluster CA', () => {
    const ca = new X509Certificate(pki.ca.cert);
    for (const file of ['etcd-server-cp1', 'etcd-peer-cp3', 'kubelet-w1', 'kubelet-serving-w1', 'apiserver-etcd-client', 'admin']) {
      const leaf = new X509Certificate(pki.certs[file]!.cert);
      expect(leaf.checkIssued(ca), file).toBe(true);
    }
    expect(new X509Certificate(pki.certs['kubelet-w1']!.cert).subject).toContain('CN=system:node:w1');
    const api = new X509Certificate(pki.certs['apiserver']!.cert);
    for (const ip of ['10.213.0.11', '10.213.0.13', '10.96.0.1']) expect(api.checkIP(ip)).toBe(ip);
  });

  it('keeps every existing certificate and issues only the new host’s when a node joins', async () => {
    const grown = planTopology(cluster(['cp1', 'cp2', 'cp3', 'w1', 'w2'], 3), HOSTS);
    const next = await ensureClusterPki(grown, pki);
    expect(next.ca).toBe(pki.ca);
    expect(next.certs['kubelet-w1']).toBe(pki.certs['kubelet-w1']);
    expect(next.certs['kubelet-w2']).toBeDefined();
  });

  it('plans identical files twice (what makes a second up find nothing to change) with keys 0600', () => {
    const a = controlPlaneFiles(t, t.controlPlanes[0]!, pki);
    expect(controlPlaneFiles(t, t.controlPlanes[0]!, pki)).toEqual(a);
    for (const f of a) expect(f.mode, f.path).toBe(f.secret ? 0o600 : 0o644);
    expect(a.filter((f) => f.path.endsWith('.key')).every((f) => f.secret)).toBe(true);
    const etcd = a.find((f) => f.path === '/etc/systemd/system/etcd.service')!.content;
    expect(etcd).toContain('Environment=ETCD_INITIAL_CLUSTER=cp1=https://10.213.0.11:2380,cp2=https://10.213.0.12:2380,cp3=https://10.213.0.13:2380');
    // The bootstrap state is the unit's default; a joining member's env file (read after it) says `existing`.
    expect(etcd.indexOf('ETCD_INITIAL_CLUSTER_STATE=new')).toBeLessThan(etcd.indexOf('EnvironmentFile=-/etc/kubernetes/etcd-join.env'));
    expect(etcd).not.toContain('--initial-cluster-state');
    expect(a.find((f) => f.path.endsWith('kube-controller-manager.service'))!.content).toContain('--leader-elect=true');
  });

  it('gives a worker a kubelet with a pre-made client cert, containerd with runc, and its Pod range', () => {
    const files = workerFiles(t, t.workers[0]!, pki, { cgroupDriver: 'systemd' });
    const kubeconfig = files.find((f) => f.path === '/etc/kubernetes/kubelet.kubeconfig')!;
    expect(kubeconfig.secret).toBe(true);
    expect(kubeconfig.content).toContain('server: https://10.213.0.11:6443');
    expect(files.find((f) => f.path.endsWith('10-infra-bridge.conflist'))!.content).toContain('10.244.1.0/24');
    expect(containerdConfig({ cgroupDriver: 'systemd' })).toMatch(/default_runtime_name = "runc"[\s\S]*SystemdCgroup = true/);
  });

  it('orders a control-plane host: binaries and files before etcd, the apiserver before the rest', () => {
    const steps = controlPlaneSteps(t.controlPlanes[0]!, controlPlaneFiles(t, t.controlPlanes[0]!, pki), artifacts).map((s) => s.id);
    const at = (id: string) => steps.indexOf(id);
    expect(at('binary:etcd')).toBeLessThan(at('service:etcd'));
    expect(at('file:/etc/kubernetes/pki/etcd-server.key')).toBeLessThan(at('service:etcd'));
    expect(at('service:etcd')).toBeLessThan(at('service:kube-apiserver'));
    expect(at('wait:apiserver')).toBeLessThan(at('service:kube-controller-manager'));
    expect(new Set(steps).size).toBe(steps.length);
  });

  it('orders a worker: containerd before the image import, the image before the kubelet', () => {
    const w = t.workers[0]!;
    const steps = workerSteps(t, w, workerFiles(t, w, pki, { cgroupDriver: 'systemd' }), artifacts).map((s) => s.id);
    expect(steps.indexOf('service:containerd')).toBeLessThan(steps.indexOf('image:pause:import'));
    expect(steps.indexOf('image:pause:import')).toBeLessThan(steps.indexOf('service:kubelet'));
  });
});

/** A host as a map of checks that pass; records what ran. */
function fakeHost(passing: Set<string>): StepHost & { ran: string[] } {
  const ran: string[] = [];
  return {
    name: 'h1',
    ran,
    check: async (step) => passing.has(step),
    change: async (step) => void ran.push(`run ${step}`),
    upload: async (step, _c: Buffer, path) => void ran.push(`upload ${step} ${path}`),
  };
}

describe('running steps', () => {
  const steps = [
    { id: 'file:/a', title: 'write /a', check: 'c', apply: [{ kind: 'upload' as const, source: { kind: 'text' as const, content: 'x', secret: false }, path: '/a', mode: 0o644, sha256: 'x' }] },
    { id: 'service:s', title: 'start s', check: 'c', apply: [{ kind: 'run' as const, script: 'restart' }], rerunAfter: ['file:/a'] },
  ];
  const readLocal = async () => Buffer.from('');

  it('changes nothing when every check passes', async () => {
    const h = fakeHost(new Set(['file:/a', 'service:s']));
    const r = await runSteps(h, steps, { readLocal });
    expect(r.mutations).toBe(0);
    expect(h.ran).toEqual([]);
  });

  it('restarts a running service when its file changed', async () => {
    const h = fakeHost(new Set(['service:s']));
    const r = await runSteps(h, steps, { readLocal });
    expect(h.ran).toEqual(['upload file:/a /a', 'run service:s']);
    expect(r.mutations).toBe(2);
  });

  it('fails a wait step with host and step named', async () => {
    const h = fakeHost(new Set());
    await expect(runSteps(h, [{ id: 'wait:x', title: 'wait for x', check: 'c', apply: [] }], { readLocal })).rejects.toThrow(HostStepError);
    await expect(runSteps(h, [{ id: 'wait:x', title: 'wait for x', check: 'c', apply: [] }], { readLocal })).rejects.toThrow(/wait for x/);
  });
});

describe('pause image archive', () => {
  it('is a deterministic OCI layout that tar reads, named for containerd', async () => {
    const spec = { reference: 'infra.local/pause:1', architecture: 'amd64' as const, entrypoint: '/pause', files: [{ name: 'pause', content: Buffer.from('binary'), mode: 0o755 }] };
    const a = ociArchive(spec);
    expect(ociArchive(spec).equals(a)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'infra-oci-'));
    try {
      await writeFile(join(dir, 'a.tar'), a);
      const names = execFileSync('tar', ['-tf', join(dir, 'a.tar')], { encoding: 'utf8' }).trim().split('\n');
      expect(names.slice(0, 2)).toEqual(['oci-layout', 'index.json']);
      expect(names.filter((n) => n.startsWith('blobs/sha256/'))).toHaveLength(3);
      const index = JSON.parse(execFileSync('tar', ['-xOf', join(dir, 'a.tar'), 'index.json'], { encoding: 'utf8' }));
      expect(index.manifests[0].annotations['io.containerd.image.name']).toBe('infra.local/pause:1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
