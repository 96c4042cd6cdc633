import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensurePki } from '../../clusters/local/pki.ts';
import { ListenError, reply, startHttpServer, type HttpServerOptions, type RunningServer } from '../../reconciler/serve/http-server.ts';
import { ServeLog } from '../../reconciler/serve/log.ts';
import { ServeMetrics } from '../../reconciler/serve/metrics.ts';

/** The HTTP side of `infra serve` on a loopback port: probes, metrics auth, the webhook mount, TLS. */

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function options(extra: Partial<HttpServerOptions> = {}): HttpServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    metrics: new ServeMetrics({ processMetrics: false }),
    readiness: () => ({ ready: true, why: '' }),
    log: new ServeLog('json', () => undefined),
    ...extra,
  };
}

async function get(path: string, init: RequestInit = {}) {
  const res = await fetch(`${server?.url}${path}`, init);
  return { status: res.status, body: await res.text() };
}

describe('serve HTTP server', () => {
  it('answers the probes; /readyz says why it is not ready', async () => {
    let ready = false;
    server = await startHttpServer(options({ readiness: () => (ready ? { ready: true, why: '' } : { ready: false, why: 'the first round is not done' }) }));
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get('/readyz')).toEqual({ status: 503, body: 'not ready: the first round is not done\n' });
    ready = true;
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ready\n' });
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/healthz', { method: 'POST' })).status).toBe(405);
  });

  it('serves /metrics on loopback without a token, and only with the bearer token when one is set', async () => {
    const metrics = new ServeMetrics({ processMetrics: false });
    metrics.webhookRequests.inc({ provider: 'github', result: 'accepted' });
    server = await startHttpServer(options({ metrics }));
    const open = await get('/metrics');
    expect(open.status).toBe(200);
    expect(open.body).toContain('infra_webhook_requests_total{provider="github",result="accepted"} 1');
    await server.close();

    server = await startHttpServer(options({ metrics, metricsToken: 's3cret-token' }));
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', { headers: { Authorization: 'Bearer s3cret-tokeX' } })).status).toBe(401);
    expect((await get('/metrics', { headers: { Authorization: 'Bearer s3cret-token' } })).status).toBe(200);
  });

  it('refuses to expose /metrics beyond loopback without a token', async () => {
    await expect(startHttpServer(options({ host: '0.0.0.0' }))).rejects.toThrow(ListenError);
    await expect(startHttpServer(options({ host: '0.0.0.0' }))).rejects.toMatchObject({ hint: expect.stringContaining('--metrics-token-file') });
  });

  it('mounts the webhook handler under /webhooks/ (404 until one is given)', async () => {
    server = await startHttpServer(options());
    expect(await get('/webhooks/github/platform', { method: 'POST', body: '{}' })).toEqual({ status: 404, body: 'no webhook receiver is mounted\n' });
    await server.close();
    const seen: string[] = [];
    server = await startHttpServer(options({ webhooks: (req, res, subpath) => (seen.push(`${req.method} ${subpath}`), reply(res, 202, 'accepted\n')) }));
    expect(await get('/webhooks/github/platform?x=1', { method: 'POST', body: '{}' })).toEqual({ status: 202, body: 'accepted\n' });
    expect(seen).toEqual(['POST github/platform']);
  });

  it('says which address is taken', async () => {
    server = await startHttpServer(options());
    await expect(startHttpServer(options({ port: server.port }))).rejects.toThrow(/EADDRINUSE/);
  });

  it('serves HTTPS with a certificate and key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infra-serve-tls-'));
    try {
      await ensurePki(join(dir, 'pki'));
      const pem = (f: string) => readFile(join(dir, 'pki', f));
      server = await startHttpServer(options({ tls: { cert: await pem('apiserver.crt'), key: await pem('apiserver.key') } }));
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await pem('ca.crt');
      const status = await new Promise<number | undefined>((resolve, reject) => {
        request(`${server?.url}/healthz`, { ca }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(200);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
