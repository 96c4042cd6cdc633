import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ociArchive } from '../../modules/distributions/binaries/oci-archive.ts';
import { IMAGE_PATH_ENV, KubeadmImageError, planImages } from '../../modules/distributions/kubeadm/images.ts';

/** Which image infra makes from which pinned binary, for the names `kubeadm config images list` prints. */
describe('kubeadm images', () => {
  it('maps each listed image to its binary; pause is the pause image tagged under kubeadm’s name', () => {
    const plans = planImages(['infra.local/k8s/kube-apiserver:v1.34.4', 'infra.local/k8s/kube-controller-manager:v1.34.4', 'infra.local/k8s/kube-scheduler:v1.34.4', 'infra.local/k8s/pause:3.10.1', 'infra.local/k8s/etcd:3.6.16-0']);
    expect(plans).toEqual([
      { kind: 'binary', reference: 'infra.local/k8s/kube-apiserver:v1.34.4', id: 'kubeadm-kube-apiserver', binary: 'kube-apiserver' },
      { kind: 'binary', reference: 'infra.local/k8s/kube-controller-manager:v1.34.4', id: 'kubeadm-kube-controller-manager', binary: 'kube-controller-manager' },
      { kind: 'binary', reference: 'infra.local/k8s/kube-scheduler:v1.34.4', id: 'kubeadm-kube-scheduler', binary: 'kube-scheduler' },
      { kind: 'pause', reference: 'infra.local/k8s/pause:3.10.1', id: 'pause' },
      { kind: 'binary', reference: 'infra.local/k8s/etcd:3.6.16-0', id: 'kubeadm-etcd', binary: 'etcd' },
    ]);
  });

  it('refuses an image from another registry or one infra cannot build (CoreDNS, kube-proxy), with a typed error', () => {
    expect(() => planImages(['registry.k8s.io/kube-apiserver:v1.34.4'])).toThrow(KubeadmImageError);
    expect(() => planImages(['infra.local/k8s/coredns:v1.12.1'])).toThrow(/coredns:v1.12.1; infra builds only/);
    expect(() => planImages(['infra.local/k8s/kube-proxy:v1.34.4'])).toThrow(/disable that addon|infra builds only/);
  });

  it('the image config carries PATH, so static Pods can run their command by name', () => {
    const archive = ociArchive({ reference: 'infra.local/k8s/etcd:3.6.16-0', architecture: 'amd64', entrypoint: '/usr/local/bin/etcd', env: [IMAGE_PATH_ENV], files: [{ name: 'usr/local/bin/etcd', content: Buffer.from('x'), mode: 0o755 }] });
    const text = archive.toString('latin1');
    const start = text.indexOf('{"architecture":"amd64","os":"linux","config"');
    // The config blob, up to the tar padding after it.
    const config = text.slice(start, text.indexOf('\0', start));
    expect(JSON.parse(config).config).toEqual({ Entrypoint: ['/usr/local/bin/etcd'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin'] });
    // Deterministic: the same binary gives the same archive, so a host that has it skips it.
    const again = ociArchive({ reference: 'infra.local/k8s/etcd:3.6.16-0', architecture: 'amd64', entrypoint: '/usr/local/bin/etcd', env: [IMAGE_PATH_ENV], files: [{ name: 'usr/local/bin/etcd', content: Buffer.from('x'), mode: 0o755 }] });
    expect(createHash('sha256').update(again).digest('hex')).toBe(createHash('sha256').update(archive).digest('hex'));
  });
});
