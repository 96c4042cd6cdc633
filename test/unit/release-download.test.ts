import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChecksumMismatchError } from '../../clusters/errors.ts';
import { resolveBinaries, resolveBinary, type Builder } from '../../clusters/tools/resolver.ts';
import { closedPort, LINUX_AMD64, startReleaseMirror, versionScript, type ReleaseMirror } from '../harness/release-mirror.ts';

/**
 * Release downloads through the real resolver against a mirror on loopback: a good file is
 * used, a file whose checksum does not match is refused with both sums, an unreachable mirror
 * falls back to the build (injected, so no Go build runs) with one line saying so.
 */

const run = promisify(execFile);
let root: string;
let mirror: ReleaseMirror;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'infra-download-'));
  mirror = await startReleaseMirror();
});
afterAll(async () => {
  await mirror.close();
  await rm(root, { recursive: true, force: true });
});

/** A fresh cache and an environment where nothing is on PATH. */
function freshEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  n++;
  // Unless a test names its own mirror, downloads go to a closed port on loopback: tests never
  // send traffic to the real release hosts.
  return { PATH: '/usr/bin:/bin', INFRA_CACHE_DIR: join(root, `cache-${n}`), INFRA_RELEASE_MIRROR: 'http://127.0.0.1:9', ...extra };
}

/** A builder that records its calls and writes a fake binary, like the Go build would. */
function fakeBuilder() {
  const calls: { name: string; at: number }[] = [];
  const builder: Builder = async (spec, targetDir) => {
    calls.push({ name: spec.name, at: Date.now() });
    await mkdir(targetDir, { recursive: true });
    await writeFile(join(targetDir, spec.name), versionScript(spec.name));
    await chmod(join(targetDir, spec.name), 0o755);
  };
  return { calls, builder };
}

describe('release downloads', () => {
  it('downloads, verifies and installs every published binary (tarballs and bare files, redirects followed)', async () => {
    const names = ['pulumi', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kustomize', 'helm'] as const;
    for (const name of names) await mirror.publish(name);
    const lines: string[] = [];
    const { calls, builder } = fakeBuilder();
    const env = freshEnv({ INFRA_RELEASE_MIRROR: mirror.base });
    const found = await resolveBinaries(names, { env, builder, progress: (l) => lines.push(l), platform: LINUX_AMD64 });

    expect(calls).toEqual([]);
    for (const name of names) {
      const b = found[name];
      expect(b.source).toBe('downloaded');
      expect((await stat(b.path)).mode & 0o777).toBe(0o755);
      const { stdout } = await run(b.path, []);
      expect(stdout.trim()).toBe(/echo '(.*)'/.exec(versionScript(name))?.[1]);
      // Nothing but the binary is left in its cache folder (no partial or unpacked files).
      expect(await readdir(join(b.path, '..'))).toEqual([name]);
    }
    expect(lines.filter((l) => l.startsWith('downloaded etcd v3.6.16 ('))).toHaveLength(1);
    expect(lines.some((l) => l.includes('SHA-256 verified'))).toBe(true);

    // A second run finds them in the cache without touching the mirror.
    const before = mirror.requests.length;
    expect((await resolveBinary('etcd', { env, builder })).source).toBe('cache');
    expect(mirror.requests.length).toBe(before);
  });

  it('refuses a file whose checksum does not match, with both sums, and installs nothing', async () => {
    const { sha256, published } = await mirror.publish('kube-scheduler', { wrongSha256: true });
    const { calls, builder } = fakeBuilder();
    const env = freshEnv({ INFRA_RELEASE_MIRROR: mirror.base });
    const attempt = resolveBinary('kube-scheduler', { env, builder, platform: LINUX_AMD64 });
    await expect(attempt).rejects.toThrow(ChecksumMismatchError);
    await expect(attempt).rejects.toThrow(new RegExp(`SHA-256 ${sha256}, but .*kube-scheduler\\.sha256 publishes ${published}`));
    await expect(attempt).rejects.toMatchObject({ expected: published, actual: sha256, exitCode: 3 });
    expect(calls).toEqual([]);
    const dir = join(env['INFRA_CACHE_DIR'] ?? '', 'bin', 'kube-scheduler-v1.34.4');
    expect(await readdir(dir)).toEqual([]);
    await mirror.publish('kube-scheduler');
  });

  it('refuses a mismatching tarball listed in a SHA256SUMS file too', async () => {
    await mirror.publish('etcd', { wrongSha256: true });
    const attempt = resolveBinary('etcd', { env: freshEnv({ INFRA_RELEASE_MIRROR: mirror.base }), builder: fakeBuilder().builder, platform: LINUX_AMD64 });
    await expect(attempt).rejects.toThrow(/etcd v3\.6\.16 downloaded from .*etcd-v3\.6\.16-linux-amd64\.tar\.gz has SHA-256 [0-9a-f]{64}, but .*SHA256SUMS publishes [0-9a-f]{64}/);
    await mirror.publish('etcd');
  });

  it('falls back to the build at once when the mirror is unreachable, with one line saying so, and asks each host once', async () => {
    const port = await closedPort();
    const lines: string[] = [];
    const { calls, builder } = fakeBuilder();
    const env = freshEnv({ INFRA_RELEASE_MIRROR: `http://127.0.0.1:${port}` });
    const started = Date.now();
    const found = await resolveBinaries(['kube-apiserver', 'kube-scheduler'], { env, builder, progress: (l) => lines.push(l), platform: LINUX_AMD64 });

    expect(found['kube-apiserver'].source).toBe('built');
    expect(found['kube-scheduler'].source).toBe('built');
    expect(calls.map((c) => c.name)).toEqual(['kube-apiserver', 'kube-scheduler']);
    expect((calls[0]?.at ?? Infinity) - started).toBeLessThan(5_000);
    const fallbacks = lines.filter((l) => l.startsWith('cannot download'));
    expect(fallbacks).toHaveLength(2);
    expect(fallbacks[0]).toMatch(new RegExp(`^cannot download kube-apiserver \\(127\\.0\\.0\\.1:${port}: ECONNREFUSED, after \\d+s\\): building kube-apiserver v1\\.34\\.4 with a custom builder \\(once; cached in .*\\)$`));
    expect(fallbacks[1]).toMatch(/^cannot download kube-scheduler \(127\.0\.0\.1:\d+: ECONNREFUSED\): building kube-scheduler v1\.34\.4 with /);
    // Besides the attempt and the fallback, only the build's own result line.
    expect(lines.filter((l) => l.includes('kube-apiserver'))).toEqual([
      expect.stringMatching(/^downloading kube-apiserver v1\.34\.4 from http:\/\/127\.0\.0\.1:\d+\/dl\.k8s\.io\/release\/v1\.34\.4\/bin\/linux\/amd64\/kube-apiserver$/),
      fallbacks[0],
      'built kube-apiserver v1.34.4 in 0s',
    ]);
  });

  it('gives up on a mirror that accepts connections but never answers, after the response deadline', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const lines: string[] = [];
    const { calls, builder } = fakeBuilder();
    try {
      const r = await resolveBinary('helm', {
        env: freshEnv({ INFRA_RELEASE_MIRROR: `http://127.0.0.1:${port}` }),
        builder,
        progress: (l) => lines.push(l),
        platform: LINUX_AMD64,
        timeouts: { responseMs: 300 },
      });
      expect(r.source).toBe('built');
      expect(calls).toHaveLength(1);
      expect(lines).toContainEqual(expect.stringMatching(/^cannot download helm \(127\.0\.0\.1:\d+: connected but no answer within 0\.3s, after \d+s\): building helm v3\.19\.0 with /));
    } finally {
      silent.close();
    }
  });

  it('builds without asking any host when INFRA_OFFLINE=1', async () => {
    const lines: string[] = [];
    const before = mirror.requests.length;
    const r = await resolveBinary('kustomize', { env: freshEnv({ INFRA_OFFLINE: '1', INFRA_RELEASE_MIRROR: mirror.base }), builder: fakeBuilder().builder, progress: (l) => lines.push(l) });
    expect(r.source).toBe('built');
    expect(mirror.requests.length).toBe(before);
    expect(lines[0]).toMatch(/^no release download for kustomize \(INFRA_OFFLINE=1\): building kustomize v5\.7\.1 with a custom builder \(once; cached in .*\)$/);
  });

  it('says the download failed and how to provide the binary when there is no Go either', async () => {
    const port = await closedPort();
    const attempt = resolveBinary('etcd', { env: freshEnv({ INFRA_RELEASE_MIRROR: `http://127.0.0.1:${port}` }), platform: LINUX_AMD64 });
    await expect(attempt).rejects.toThrow(/etcd v3\.6\.16 not found: it cannot be downloaded \(127\.0\.0\.1:\d+: ECONNREFUSED\) and `go` is not installed/);
  });
});

describe('never silent', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says it is still building at least every 10 s during a slow build', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const lines: string[] = [];
    let building!: () => void;
    let finish!: () => void;
    const started = new Promise<void>((resolve) => (building = resolve));
    const slow: Builder = async (spec, targetDir, options) => {
      building();
      await new Promise<void>((resolve) => (finish = resolve));
      await fakeBuilder().builder(spec, targetDir, options);
    };
    const attempt = resolveBinary('kwok', { env: freshEnv(), builder: slow, progress: (l) => lines.push(l) });
    await started;
    await vi.advanceTimersByTimeAsync(35_000);
    finish();
    expect((await attempt).source).toBe('built');
    expect(lines.filter((l) => l.includes('still'))).toEqual(['  still building kwok (10s)…', '  still building kwok (20s)…', '  still building kwok (30s)…']);
    expect(lines.at(-1)).toBe('built kwok v0.7.0 in 35s');
  });

  it('says it is waiting while another resolver holds the same binary, then takes it from the cache', async () => {
    const env = freshEnv({ INFRA_OFFLINE: '1' });
    const lines: string[] = [];
    let sawWaiting!: () => void;
    const waiting = new Promise<void>((resolve) => (sawWaiting = resolve));
    const progress = (l: string) => {
      lines.push(l);
      if (l.startsWith('  waiting for another infra process to download or build etcd (')) sawWaiting();
    };
    // The first resolver's build finishes only once the second has said it is waiting.
    const slow: Builder = async (spec, targetDir, options) => {
      await waiting;
      await fakeBuilder().builder(spec, targetDir, options);
    };
    let building!: () => void;
    const firstBuilds = new Promise<void>((resolve) => (building = resolve));
    const first = resolveBinary('etcd', { env, builder: slow, progress: (l) => l.includes(': building etcd') && building() });
    await firstBuilds;
    const second = resolveBinary('etcd', { env, builder: fakeBuilder().builder, progress, heartbeatMs: 50 });
    expect((await first).source).toBe('built');
    expect((await second).source).toBe('cache');
  });

  it('says it is still downloading, with the bytes so far, during a slow download', async () => {
    const published = await startReleaseMirror();
    await published.publish('kube-controller-manager');
    // A proxy in front of the mirror that sends the artifact in slow pieces.
    const slow = createHttpServer(async (req, res) => {
      const upstream = await fetch(`${published.base}${req.url}`, { redirect: 'manual' });
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { 'content-length': body.length });
      if (!req.url?.endsWith('/kube-controller-manager')) return void res.end(body);
      for (const byte of body) {
        res.write(Buffer.from([byte]));
        await new Promise((r) => setTimeout(r, 600 / body.length));
      }
      res.end();
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const lines: string[] = [];
    try {
      const env = freshEnv({ INFRA_RELEASE_MIRROR: `http://127.0.0.1:${(slow.address() as AddressInfo).port}` });
      const r = await resolveBinary('kube-controller-manager', { env, builder: fakeBuilder().builder, progress: (l) => lines.push(l), heartbeatMs: 100, platform: LINUX_AMD64 });
      expect(r.source).toBe('downloaded');
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}still downloading kube-controller-manager \(\d+s, \d+\.\d MB of \d+\.\d MB\)…$/));
    } finally {
      slow.close();
      await published.close();
    }
  });
});
