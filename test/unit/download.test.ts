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
