import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthFile, sha256 } from '../../reconciler/dashboard/auth.ts';
import { Dashboard, type DashboardBackend } from '../../reconciler/dashboard/routes.ts';
import { DashboardState } from '../../reconciler/dashboard/state.ts';
import { fileUnder } from '../../reconciler/dashboard/static-files.ts';
import { ServeLog } from '../../reconciler/serve/log.ts';

/** The /ui/ routes over real HTTP on loopback, with a recording backend (the real one is covered by the serve integration test). */

const auth = parseAuthFile(`users:\n  - { name: alice, role: write, tokenSha256: ${sha256('t-alice').toString('hex')} }\n`, 'auth.yaml');
const alice = { authorization: 'Bearer t-alice' };
let dir: string;
let servers: Server[] = [];

async function serveDashboard(dist: string, opts: { requestTimeout?: number; pingMs?: number; maxBufferedBytes?: number } = {}): Promise<{ base: string; dashboard: Dashboard; state: DashboardState; log: string[] }> {
  const state = new DashboardState(() => 0);
  const log: string[] = [];
  const backend: DashboardBackend = {
    appDetail: async () => ({}),
    appDiff: async () => ({}),
    clusterDetail: async () => undefined,
    syncNow: () => true,
    setSuspended: async (app, s) => void state.setSuspended(app, s),
  };
  const dashboard = new Dashboard({ state, auth, backend, log: new ServeLog('json', (l) => log.push(l)), dist, secure: false, ...(opts.pingMs ? { pingMs: opts.pingMs } : {}), ...(opts.maxBufferedBytes ? { maxBufferedBytes: opts.maxBufferedBytes } : {}) });
  const server = createServer({ connectionsCheckingInterval: 50 }, (req, res) => void dashboard.handle(req, res, (req.url ?? '/').split('?')[0] as string));
  if (opts.requestTimeout) {
    server.requestTimeout = opts.requestTimeout;
    server.headersTimeout = opts.requestTimeout;
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dashboard, state, log };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-ui-routes-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>infra</title>');
  await writeFile(join(dir, 'dist', 'assets', 'app-1234.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'outside dist');
});
afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  await rm(dir, { recursive: true, force: true });
});

describe('dashboard static files', () => {
  it('serves assets, index.html for page routes, never a file outside dist', async () => {
    const { base } = await serveDashboard(join(dir, 'dist'));
    const asset = await fetch(`${base}/ui/assets/app-1234.js`, { headers: alice });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await (await fetch(`${base}/ui/apps/web`, { headers: alice })).text()).toContain('<title>infra</title>');
    expect((await fetch(`${base}/ui/assets/missing.js`, { headers: alice })).status).toBe(404);
    const escape = await fetch(`${base}/ui/..%2fsecret.txt`, { headers: alice });
    expect(await escape.text()).not.toContain('outside dist');
    expect(fileUnder(join(dir, 'dist'), '../secret.txt')).toBeUndefined();
    expect(fileUnder(join(dir, 'dist'), '%2e%2e/secret.txt')).toBeUndefined();
  });

  it('answers a clear 503 page when the dashboard is not built', async () => {
    const { base } = await serveDashboard(join(dir, 'no-dist'));
    const r = await fetch(`${base}/ui/`, { headers: alice });
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('npm run build');
    expect((await fetch(`${base}/ui/`)).status).toBe(401);
  });
});

describe('dashboard event stream', () => {
  it('sends deltas and pings, outlives the server request timeout, and ends when the dashboard closes', async () => {
    const { base, dashboard, state } = await serveDashboard(join(dir, 'dist'), { requestTimeout: 300, pingMs: 100 });
    const res = await fetch(`${base}/ui/api/events`, { headers: alice });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (cond: () => boolean) => {
      while (!cond()) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += Buffer.from(value).toString('utf8');
      }
      return true;
    };
    // Pings over more than the server's request timeout (checked every 50 ms here): a stream is a long response, not a slow request.
    expect(await readUntil(() => (text.match(/: ping\n\n/g) ?? []).length >= 5)).toBe(true);
    state.setSuspended('web', true);
    expect(await readUntil(() => text.includes('event: app\ndata: {"app":"web","suspended":true}\n\n'))).toBe(true);
    expect(dashboard.streamCount).toBe(1);
    dashboard.close();
    expect(await readUntil(() => false)).toBe(false); // the stream ended
    expect(state.subscribers).toBe(0);
  });

  it('drops a client that stopped reading instead of buffering without end', async () => {
    const { base, dashboard, state } = await serveDashboard(join(dir, 'dist'), { maxBufferedBytes: 64 * 1024 });
    const res = await new Promise<IncomingMessage>((resolve) => get(`${base}/ui/api/events`, { headers: alice }, resolve));
    expect(res.statusCode).toBe(200);
    res.pause(); // never reads
    const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
    const long = 'x'.repeat(1000);
    for (let i = 0; i < 20_000 && dashboard.streamCount > 0; i++) {
      state.setSuspended(`${long}-${i}`, true);
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(dashboard.streamCount).toBe(0);
    expect(state.subscribers).toBe(0);
    res.resume();
    await closed;
  });
});
