import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError, fetchText } from '../../clusters/tools/download.ts';
import { resolveBinary } from '../../clusters/tools/resolver.ts';
import { LINUX_AMD64, startReleaseMirror, type ReleaseMirror } from '../harness/release-mirror.ts';

/** The HTTP edge of release downloads: deadlines and proxies, on loopback only. */

let root: string;
let mirror: ReleaseMirror;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'infra-http-'));
  mirror = await startReleaseMirror();
});
afterAll(async () => {
  await mirror.close();
  await rm(root, { recursive: true, force: true });
});

describe('download deadlines', () => {
  it('gives up when DNS never answers, after the connect deadline', async () => {
    const started = Date.now();
    const attempt = fetchText('http://release-host.test/SHA256SUMS', { lookup: () => {}, timeouts: { connectMs: 200 } });
    await expect(attempt).rejects.toThrow(DownloadError);
    await expect(attempt).rejects.toMatchObject({ kind: 'unreachable', message: 'release-host.test: no connection within 0.2s' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('reports a missing file as missing, not unreachable', async () => {
    await expect(fetchText(`${mirror.base}/nothing/here`)).rejects.toMatchObject({ kind: 'missing', message: `${mirror.base}/nothing/here answered HTTP 404` });
  });
});

describe('proxies', () => {
  it('downloads through HTTP_PROXY when the release host is reachable only through it', async () => {
    await mirror.publish('helm');
    const seen: string[] = [];
    // A forward proxy: absolute-form requests for release-host.test go to the mirror.
    const proxy = createServer(async (req, res) => {
      seen.push(req.url ?? '');
      const target = new URL(req.url ?? '/');
      const upstream = await fetch(`${mirror.base}${target.pathname}`, { redirect: 'manual' });
      const headers: Record<string, string> = {};
      const location = upstream.headers.get('location');
      if (location) headers['location'] = location;
      res.writeHead(upstream.status, headers).end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const env = {
        PATH: '',
        INFRA_CACHE_DIR: join(root, 'cache-proxy'),
        // The mirror's host name resolves nowhere: only the proxy knows it.
        INFRA_RELEASE_MIRROR: `http://release-host.test${new URL(mirror.base).pathname.replace(/\/$/, '')}`,
        HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      };
      const r = await resolveBinary('helm', { env, platform: LINUX_AMD64, builder: async () => Promise.reject(new Error('must not build')) });
      expect(r.source).toBe('downloaded');
      expect(seen).toEqual([
        'http://release-host.test/get.helm.sh/helm-v3.19.0-linux-amd64.tar.gz.sha256sum',
        'http://release-host.test/get.helm.sh/helm-v3.19.0-linux-amd64.tar.gz',
      ]);
    } finally {
      proxy.close();
    }
  });
});

describe('broken transfers', () => {
  async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ base: string; close: () => void }> {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
  }

  it('treats a connection lost midway as a network failure (build instead), not as a checksum mismatch', async () => {
    const server = await serve((req, res) => {
      if (req.url?.endsWith('.sha256')) return void res.end(`${'a'.repeat(64)}\n`);
      res.writeHead(200, { 'content-length': 1000 });
      res.write('#!/bin/sh\n');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const lines: string[] = [];
    try {
      const r = await resolveBinary('kube-apiserver', {
        env: { PATH: '', INFRA_CACHE_DIR: join(root, 'cache-cut'), INFRA_RELEASE_MIRROR_KUBERNETES: server.base },
        platform: LINUX_AMD64,
        progress: (l) => lines.push(l),
        builder: async (spec, dir) => {
          const { mkdir, writeFile } = await import('node:fs/promises');
          await mkdir(dir, { recursive: true });
          await writeFile(join(dir, spec.name), '#!/bin/sh\n', { mode: 0o755 });
        },
      });
      expect(r.source).toBe('built');
      expect(lines).toContainEqual(expect.stringMatching(/^cannot download kube-apiserver \(127\.0\.0\.1:\d+: connection lost after 10 bytes of .*\/v1\.34\.4\/bin\/linux\/amd64\/kube-apiserver, after \d+s\): building /));
    } finally {
      server.close();
    }
  });

  it('gives up on a body that stalls, after the idle deadline', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('partial');
    });
    try {
      const attempt = fetchText(`${server.base}/SHA256SUMS`, { timeouts: { idleMs: 200 } });
      await expect(attempt).rejects.toMatchObject({ kind: 'unreachable', message: expect.stringMatching(/^127\.0\.0\.1:\d+: no data for 0\.2s while downloading http:.*\/SHA256SUMS$/) });
    } finally {
      server.close();
    }
  });
});
