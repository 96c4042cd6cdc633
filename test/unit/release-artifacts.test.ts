import { describe, expect, it } from 'vitest';
import { publishedSha256 } from '../../clusters/tools/checksum.ts';
import { elapsedText } from '../../clusters/tools/heartbeat.ts';
import { releaseArtifact, type ArtifactPlan } from '../../clusters/tools/release-artifacts.ts';
import type { BinaryName } from '../../clusters/tools/versions.ts';
import { binariesFor } from '../../clusters/tools/stack-binaries.ts';
import { parseStack } from '../../stacks/load.ts';

/** Where each pinned tool is published upstream, and how its checksum is read. Pure. */

const amd64 = { platform: 'linux', arch: 'x64' } as const;
const arm64 = { platform: 'linux', arch: 'arm64' } as const;

function urls(plan: ArtifactPlan) {
  if (plan.kind !== 'download') return plan;
  const { url, checksum, member } = plan.artifact;
  return { url, checksum: checksum.kind === 'file' ? checksum.url : checksum, member };
}

describe('release artifact layout', () => {
  const cases: [BinaryName, typeof amd64 | typeof arm64, ReturnType<typeof urls>][] = [
    ['etcd', amd64, {
      url: 'https://github.com/etcd-io/etcd/releases/download/v3.6.16/etcd-v3.6.16-linux-amd64.tar.gz',
      checksum: 'https://github.com/etcd-io/etcd/releases/download/v3.6.16/SHA256SUMS',
      member: 'etcd-v3.6.16-linux-amd64/etcd',
    }],
    ['etcd', arm64, {
      url: 'https://github.com/etcd-io/etcd/releases/download/v3.6.16/etcd-v3.6.16-linux-arm64.tar.gz',
      checksum: 'https://github.com/etcd-io/etcd/releases/download/v3.6.16/SHA256SUMS',
      member: 'etcd-v3.6.16-linux-arm64/etcd',
    }],
    // etcd's clients come from the server's tarball.
    ['etcdutl', arm64, {
      url: 'https://github.com/etcd-io/etcd/releases/download/v3.6.16/etcd-v3.6.16-linux-arm64.tar.gz',
      checksum: 'https://github.com/etcd-io/etcd/releases/download/v3.6.16/SHA256SUMS',
      member: 'etcd-v3.6.16-linux-arm64/etcdutl',
    }],
    ['kubeadm', amd64, {
      url: 'https://dl.k8s.io/release/v1.34.4/bin/linux/amd64/kubeadm',
      checksum: 'https://dl.k8s.io/release/v1.34.4/bin/linux/amd64/kubeadm.sha256',
      member: undefined,
    }],
    ['kube-apiserver', amd64, {
      url: 'https://dl.k8s.io/release/v1.34.4/bin/linux/amd64/kube-apiserver',
      checksum: 'https://dl.k8s.io/release/v1.34.4/bin/linux/amd64/kube-apiserver.sha256',
      member: undefined,
    }],
    ['kube-scheduler', arm64, {
      url: 'https://dl.k8s.io/release/v1.34.4/bin/linux/arm64/kube-scheduler',
      checksum: 'https://dl.k8s.io/release/v1.34.4/bin/linux/arm64/kube-scheduler.sha256',
      member: undefined,
    }],
    ['helm', arm64, {
      url: 'https://get.helm.sh/helm-v3.19.0-linux-arm64.tar.gz',
      checksum: 'https://get.helm.sh/helm-v3.19.0-linux-arm64.tar.gz.sha256sum',
      member: 'linux-arm64/helm',
    }],
    ['kustomize', amd64, {
      url: 'https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv5.7.1/kustomize_v5.7.1_linux_amd64.tar.gz',
      checksum: 'https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv5.7.1/checksums.txt',
      member: 'kustomize',
    }],
    ['pulumi', amd64, {
      url: 'https://get.pulumi.com/releases/sdk/pulumi-v3.259.0-linux-x64.tar.gz',
      checksum: 'https://get.pulumi.com/releases/sdk/pulumi-3.259.0-checksums.txt',
      member: 'pulumi/pulumi',
    }],
    ['pulumi', arm64, {
      url: 'https://get.pulumi.com/releases/sdk/pulumi-v3.259.0-linux-arm64.tar.gz',
      checksum: 'https://get.pulumi.com/releases/sdk/pulumi-3.259.0-checksums.txt',
      member: 'pulumi/pulumi',
    }],
  ];
  it.each(cases)('%s on %o', (name, platform, expected) => {
    expect(urls(releaseArtifact(name, platform, {}))).toEqual(expected);
  });

  it('names the file as checksum lists do (the tag slash of kustomize unescaped)', () => {
    const plan = releaseArtifact('kustomize', amd64, {});
    expect(plan.kind === 'download' && plan.artifact.fileName).toBe('kustomize_v5.7.1_linux_amd64.tar.gz');
  });

  it('downloads nothing where no checksum is published (kwok), offline, or off linux amd64/arm64', () => {
    expect(releaseArtifact('kwok', amd64, {})).toEqual({ kind: 'none', why: 'kwok publishes no checksum and none is pinned for linux/amd64' });
    expect(releaseArtifact('etcd', amd64, { INFRA_OFFLINE: '1' })).toEqual({ kind: 'none', why: 'INFRA_OFFLINE=1' });
    expect(releaseArtifact('etcd', { platform: 'darwin', arch: 'arm64' }, {})).toEqual({ kind: 'none', why: 'no release artifacts for darwin/arm64' });
    expect(releaseArtifact('etcd', { platform: 'linux', arch: 'riscv64' }, {}).kind).toBe('none');
  });

  it('puts every upstream under its host name on INFRA_RELEASE_MIRROR; a per-source base wins', () => {
    const env = { INFRA_RELEASE_MIRROR: 'https://mirror.example/releases/', INFRA_RELEASE_MIRROR_HELM: 'https://helm.example/' };
    expect(urls(releaseArtifact('kube-apiserver', amd64, env))).toMatchObject({
      url: 'https://mirror.example/releases/dl.k8s.io/release/v1.34.4/bin/linux/amd64/kube-apiserver',
      checksum: 'https://mirror.example/releases/dl.k8s.io/release/v1.34.4/bin/linux/amd64/kube-apiserver.sha256',
    });
    expect(urls(releaseArtifact('etcd', amd64, env))).toMatchObject({
      url: 'https://mirror.example/releases/github.com/etcd-io/etcd/releases/download/v3.6.16/etcd-v3.6.16-linux-amd64.tar.gz',
    });
    expect(urls(releaseArtifact('helm', amd64, env))).toMatchObject({
      url: 'https://helm.example/helm-v3.19.0-linux-amd64.tar.gz',
      checksum: 'https://helm.example/helm-v3.19.0-linux-amd64.tar.gz.sha256sum',
    });
  });
});

describe('published checksums', () => {
  const a = 'a'.repeat(64);
  const b = 'B'.repeat(64);
  it('reads a bare digest (dl.k8s.io .sha256)', () => {
    expect(publishedSha256(`${a}\n`, 'kube-apiserver')).toBe(a);
  });
  it('reads sha256sum lines, picking the named file (SHA256SUMS, checksums.txt, .sha256sum)', () => {
    const text = `${a}  etcd-v3.6.16-linux-arm64.tar.gz\n${b}  etcd-v3.6.16-linux-amd64.tar.gz\n`;
    expect(publishedSha256(text, 'etcd-v3.6.16-linux-amd64.tar.gz')).toBe(b.toLowerCase());
    expect(publishedSha256(`${a} *helm-v3.19.0-linux-amd64.tar.gz`, 'helm-v3.19.0-linux-amd64.tar.gz')).toBe(a);
    expect(publishedSha256(`${a}  ./dist/x.tar.gz`, 'x.tar.gz')).toBe(a);
  });
  it('finds nothing for a file it does not list, or for junk', () => {
    expect(publishedSha256(`${a}  other.tar.gz\n${b}  another.tar.gz`, 'mine.tar.gz')).toBeUndefined();
    expect(publishedSha256('<html>not found</html>', 'mine.tar.gz')).toBeUndefined();
    expect(publishedSha256('abc', 'mine.tar.gz')).toBeUndefined();
  });
});

describe('progress text and stack needs', () => {
  it('formats elapsed time', () => {
    expect([elapsedText(4_400), elapsedText(130_000), elapsedText(3_725_000)]).toEqual(['4s', '2m10s', '1h02m']);
  });

  it('resolves the engine, the control plane for local clusters and the renderers apps may use', () => {
    const stack = (extra: string) =>
      parseStack('s.yaml', `apiVersion: infra.dev/v1alpha1\nkind: Stack\nmetadata: {name: s}\nclusters:\n  - name: a\n${extra}`);
    expect(binariesFor(stack(''))).toEqual(['pulumi', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']);
    const withApps = stack(`gitops:\n  sources: [{name: r, url: /tmp/r, ref: {branch: main}}]\n  apps:\n    - {name: x, source: r, path: p, render: helm, targets: {clusters: [a]}}\n`);
    expect(binariesFor(withApps)).toEqual(['pulumi', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'helm']);
  });
});
