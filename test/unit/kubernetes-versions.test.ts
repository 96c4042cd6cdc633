import { describe, expect, it } from 'vitest';
import { binariesAndVersionsFor } from '../../clusters/tools/stack-binaries.ts';
import { binarySpec, BINARIES, KUBERNETES_VERSION, SUPPORTED_KUBERNETES_VERSIONS } from '../../clusters/tools/versions.ts';
import { RollQueue } from '../../modules/distributions/binaries/roll.ts';
import { parseStack } from '../../stacks/load.ts';

const sshCluster = (extra: string) =>
  parseStack(
    's.yaml',
    `apiVersion: infra.dev/v1alpha1\nkind: Stack\nmetadata: {name: s}\nsites:\n  - {name: dc, kind: ssh}\nhosts:\n  - {name: h1, site: dc, address: 192.0.2.1}\nclusters:\n  - {name: c, site: dc, distribution: kubernetes, hosts: [h1]${extra}}\n`,
  );

describe('Kubernetes versions a cluster on ssh hosts may run', () => {
  it('builds the kube-* components and the kubelet at the cluster’s version, the rest at their pins', () => {
    expect(SUPPORTED_KUBERNETES_VERSIONS).toEqual(['1.34.3', KUBERNETES_VERSION]);
    const older = binarySpec('kubelet', '1.34.3');
    expect(older.version).toBe('1.34.3');
    expect(older.recipe).toMatchObject({ module: 'k8s.io/kubernetes', moduleVersion: 'v1.34.3', stagingReplaceVersion: 'v0.34.3' });
    expect(older.recipe.ldflags).toContain('-X k8s.io/component-base/version.gitVersion=v1.34.3');
    expect(binarySpec('kube-apiserver')).toBe(BINARIES['kube-apiserver']);
    // kubectl and etcd stay pinned whatever the cluster runs.
    expect(binarySpec('kubectl', '1.34.3')).toBe(BINARIES.kubectl);
    expect(binarySpec('etcd', '1.34.3')).toBe(BINARIES.etcd);
    expect(() => binarySpec('kubelet', '1.33.0')).toThrow(/1\.33\.0 is not supported \(supported: 1\.34\.3, 1\.34\.4\)/);
  });

  it('the stack accepts the supported versions and names the line of any other', () => {
    expect(sshCluster(', version: 1.34.3').clusters[0]?.version).toBe('1.34.3');
    expect(sshCluster('').clusters[0]?.version).toBe(KUBERNETES_VERSION);
    expect(() => sshCluster(', version: 1.33.2')).toThrow(/clusters\[0\]\.version: infra builds Kubernetes 1\.34\.3 and 1\.34\.4, not 1\.33\.2 \(s\.yaml:9\)/);
    expect(() => sshCluster(', version: 1.34.3, bootstrap: kubeadm')).toThrow(/infra builds Kubernetes 1\.34\.4 for kubeadm clusters, not 1\.34\.3/);
  });

  it('`up` resolves the other version’s binaries only for clusters that run it', () => {
    expect(binariesAndVersionsFor(sshCluster('')).versioned).toEqual([]);
    const older = binariesAndVersionsFor(sshCluster(', version: 1.34.3'));
    expect(older.versioned).toEqual([{ version: '1.34.3', names: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'] }]);
    expect(older.pinned).toContain('kubelet');
  });
});

describe('the roll order', () => {
  it('follows the order members entered, whatever each awaited before running; a skipped member gives its place up', async () => {
    const q = new RollQueue();
    const log: string[] = [];
    const stopped = (at: { host: string }) => new Error(`stopped at ${at.host}`);
    const w1 = q.enter('w1');
    const w2 = q.enter('w2');
    const w3 = q.enter('w3');
    // w3 is ready first and w1 last: the roll still runs w1 before w3.
    const c = w3.run(async () => void log.push('w3'), stopped);
    w2.skip();
    await Promise.resolve();
    const a = w1.run(async () => void log.push('w1'), stopped);
    await Promise.all([a, c]);
    expect(log).toEqual(['w1', 'w3']);
  });

  it('a member after the failed one is refused without running, naming where the roll stopped', async () => {
    const q = new RollQueue();
    const ran: string[] = [];
    const stopped = (at: { host: string; message: string }) => new Error(`roll stopped at ${at.host}: ${at.message}`);
    const broken = q.enter('bin-2');
    const after = q.enter('bin-3');
    const b = after.run(async () => void ran.push('bin-3'), stopped);
    await expect(broken.run(async () => { throw new Error('step "start kubelet" failed'); }, stopped)).rejects.toThrow('start kubelet');
    await expect(b).rejects.toThrow('roll stopped at bin-2: step "start kubelet" failed');
    expect(ran).toEqual([]);
  });
});
