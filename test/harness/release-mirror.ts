import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { releaseArtifact } from '../../clusters/tools/release-artifacts.ts';
import { BINARIES, type BinaryName } from '../../clusters/tools/versions.ts';

/**
 * A release mirror on loopback for tests: fake "release" files laid out like upstream under
 * `<base>/<upstream host>/...` (what INFRA_RELEASE_MIRROR expects), each with its checksum file
 * in the upstream format. GitHub paths answer with a redirect to a CDN path, like GitHub does.
 * Payloads are tiny shell scripts that print the pinned version.
 */

const run = promisify(execFile);

export const LINUX_AMD64 = { platform: 'linux', arch: 'x64' } as const;

export interface ReleaseMirror {
  readonly base: string;
  /** Request paths in arrival order. */
  readonly requests: string[];
  /** Serves the fake release of `name`; `script` replaces the default payload; `wrongSha256` publishes a bad digest. */
  publish(name: BinaryName, options?: { script?: string; wrongSha256?: boolean }): Promise<{ sha256: string; published: string }>;
  close(): Promise<void>;
}

export function versionScript(name: BinaryName): string {
  const v = BINARIES[name].version;
  const line: Record<BinaryName, string> = {
    etcd: `etcd Version: ${v}`,
    'kube-apiserver': `Kubernetes v${v}`,
    'kube-controller-manager': `Kubernetes v${v}`,
    'kube-scheduler': `Kubernetes v${v}`,
    kubelet: `Kubernetes v${v}`,
    'cni-bridge': `CNI bridge plugin v${v}`,
    'cni-host-local': `CNI host-local plugin v${v}`,
    'cni-loopback': `CNI loopback plugin v${v}`,
    'cni-portmap': `CNI portmap plugin v${v}`,
    'cni-flannel': `CNI flannel plugin v${v}`,
    flanneld: `v${v}`,
    'local-path-provisioner': `local-path-provisioner version v${v}`,
    runsc: `runsc version ${v}`,
    'containerd-shim-runsc-v1': `containerd-shim-runsc-v1 ${v}`,
    kubectl: `Client Version: v${v}`,
    kwok: `kwok version v${v}`,
    kustomize: `v${v}`,
    helm: `v${v}+gfake`,
    pulumi: `v${v}`,
    etcdctl: `etcdctl version: ${v}`,
    etcdutl: `etcdutl version: ${v}`,
    kubeadm: `v${v}`,
  };
  return `#!/bin/sh\necho '${line[name]}'\n`;
}

export async function startReleaseMirror(): Promise<ReleaseMirror> {
  const files = new Map<string, Buffer>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    if (path.startsWith('/github.com/')) {
      res.writeHead(302, { location: `/objects${path}` }).end();
      return;
    }
    const body = files.get(path.replace(/^\/objects/, ''));
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const work = await mkdtemp(join(tmpdir(), 'infra-mirror-'));

  return {
    base,
    requests,
    async publish(name, options = {}) {
      const plan = releaseArtifact(name, LINUX_AMD64, { INFRA_RELEASE_MIRROR: base });
      if (plan.kind !== 'download') throw new Error(`${name} is not downloadable: ${plan.why}`);
      const { artifact } = plan;
      const script = options.script ?? versionScript(name);
      let payload: Buffer;
      if (artifact.member) {
        const stage = join(work, `${name}-stage`);
        await mkdir(dirname(join(stage, artifact.member)), { recursive: true });
        await writeFile(join(stage, artifact.member), script, { mode: 0o755 });
        const tarball = join(work, artifact.fileName);
        await run('tar', ['-czf', tarball, '-C', stage, artifact.member]);
        payload = await readFile(tarball);
      } else {
        payload = Buffer.from(script);
      }
      const sha256 = createHash('sha256').update(payload).digest('hex');
      const published = options.wrongSha256 ? createHash('sha256').update('something else').digest('hex') : sha256;
      files.set(new URL(artifact.url).pathname, payload);
      if (artifact.checksum.kind === 'file') {
        const url = new URL(artifact.checksum.url);
        const text = url.pathname.endsWith('.sha256')
          ? `${published}\n`
          : `${'0'.repeat(64)}  some-other-file.tar.gz\n${published}  ${artifact.fileName}\n`;
        files.set(url.pathname, Buffer.from(text));
      }
      return { sha256, published };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** A loopback port with nothing listening on it (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
