import { createHmac } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookReceiver, type WebhookOutcome, type WebhookTrigger } from '../../reconciler/webhooks/receiver.ts';
import { WebhookSecret } from '../../reconciler/webhooks/secret.ts';

/** The receiver behind a real node:http server on loopback, as `infra serve` mounts it. */

const SECRET = 'receiver-test-secret-0123456789';
const SHA = 'c0ffee0000000000000000000000000000000001';
const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
const pushBody = (after = SHA, ref = 'refs/heads/main') => JSON.stringify({ repository: '/srv/git/platform.git', ref, after });

let server: Server;
let port: number;
let now = 0;
const triggers: WebhookTrigger[] = [];
const outcomes: WebhookOutcome[] = [];

beforeAll(async () => {
  const receiver = createWebhookReceiver({
    sources: [
      { name: 'platform', url: '/srv/git/platform.git', ref: { branch: 'main' }, secret: new WebhookSecret(SECRET) },
      { name: 'unused', url: '/srv/git/platform.git', ref: { branch: 'main' }, secret: new WebhookSecret(SECRET) },
    ],
    maxBodyBytes: 4096,
    clock: () => now,
    rateLimit: { burst: 30, perSecond: 1 },
    // As infra serve answers: a source no app uses queues nothing.
    onTrigger: (t) => t.source !== 'unused' && triggers.push(t) > 0,
  });
  server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/webhooks\//, '');
    void receiver.handle(req, res, path).then((o) => outcomes.push(o));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function post(path: string, body: string | Buffer, headers: Record<string, string> = {}, opts: { chunked?: boolean; method?: string } = {}): Promise<{ status: number; json: Record<string, unknown>; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'POST', headers: { 'content-type': 'application/json', ...headers, ...(opts.chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>, ...(res.headers['retry-after'] ? { retryAfter: res.headers['retry-after'] } : {}) }));
    });
    req.on('error', reject);
    if (opts.chunked) {
      // Written slowly in pieces with no Content-Length: the limit must stop the read itself.
      const b = Buffer.from(body);
      let i = 0;
      const next = () => {
        if (i >= b.length || req.destroyed) return req.end();
        req.write(b.subarray(i, i + 1024), () => setImmediate(next));
        i += 1024;
      };
      next();
    } else req.end(body);
  });
}

const generic = (body: string, id: string, extra: Record<string, string> = {}) => post('/webhooks/generic/platform', body, { 'x-infra-event': 'push', 'x-infra-delivery': id, 'x-infra-signature': sign(body), ...extra });

describe('webhook receiver over HTTP', () => {
  it('202 for a signed push to the followed branch, and the queue gets the commit', async () => {
    const r = await generic(pushBody(), 'd-1');
    expect(r).toMatchObject({ status: 202, json: { result: 'accepted', revision: SHA } });
    expect(triggers).toEqual([{ source: 'platform', revision: SHA, reason: 'webhook:generic' }]);
    expect(outcomes.at(-1)).toEqual({ provider: 'generic', source: 'platform', result: 'accepted', status: 202, delivery: 'd-1', revision: SHA });
  });

  it('refusals trigger nothing: 401 bad or missing signature, 400 garbage, 200 wrong branch or replay, 404, 405', async () => {
    const before = triggers.length;
    const body = pushBody('c0ffee0000000000000000000000000000000002');
    expect((await post('/webhooks/generic/platform', body, { 'x-infra-delivery': 'd-2', 'x-infra-signature': sign(`${body} `) })).status).toBe(401);
    expect((await post('/webhooks/generic/platform', body, { 'x-infra-delivery': 'd-3' })).status).toBe(401);
    expect((await generic('not json at all', 'd-4')).status).toBe(400);
    expect(await generic(pushBody(SHA, 'refs/heads/feature'), 'd-5')).toMatchObject({ status: 200, json: { result: 'ignored' } });
    expect(await generic(pushBody(), 'd-1')).toMatchObject({ status: 200, json: { result: 'replay', reason: 'delivery d-1 was already received' } });
    expect((await post('/webhooks/github/nope', body)).status).toBe(404);
    expect((await post('/webhooks/svn/platform', body)).status).toBe(404);
    expect(outcomes.at(-1)).toMatchObject({ provider: 'unknown', result: 'not_found' });
    expect((await post('/webhooks/generic/platform', '', {}, { method: 'GET' })).status).toBe(405);
    expect(triggers.length).toBe(before);
  });

  it('what a sender controls reaches the outcome (and so the log) printable and short', async () => {
    await generic(pushBody(), `long-\u00e9-${'x'.repeat(500)}`);
    expect(outcomes.at(-1)?.delivery).toMatch(/^long-\?+-x+…$/);
    expect(outcomes.at(-1)?.delivery).toHaveLength(101);
    await post(`/webhooks/${'p'.repeat(300)}/platform`, '{}');
    expect(outcomes.at(-1)?.reason?.length).toBeLessThan(200);
  });

  it('200 ignored when no app uses the source: nothing queued', async () => {
    const before = triggers.length;
    const body = pushBody();
    const r = await post('/webhooks/generic/unused', body, { 'x-infra-delivery': 'unused-1', 'x-infra-signature': sign(body) });
    expect(r).toMatchObject({ status: 200, json: { result: 'ignored', reason: 'no app uses this source' } });
    expect(triggers.length).toBe(before);
  });

  it('413 over the size limit, declared or streamed, and nothing is queued', async () => {
    const before = triggers.length;
    const big = JSON.stringify({ repository: '/srv/git/platform.git', ref: 'refs/heads/main', after: SHA, pad: 'x'.repeat(8000) });
    expect((await generic(big, 'd-6')).status).toBe(413);
    const streamed = await post('/webhooks/generic/platform', big, { 'x-infra-delivery': 'd-7', 'x-infra-signature': sign(big) }, { chunked: true }).catch((e: Error) => ({ status: -1, json: { error: e.message } }));
    // The server answers 413 and closes; a client still writing may see the reset instead of the answer.
    expect([413, -1]).toContain(streamed.status);
    await expect.poll(() => outcomes.at(-1)?.result).toBe('too_large');
    expect(triggers.length).toBe(before);
  });

  it('429 past the per-source burst, with Retry-After; the bucket refills with time', async () => {
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push(await generic(pushBody(), `burst-${i}`));
    const limited = answers.find((a) => a.status === 429);
    expect(limited).toMatchObject({ json: { result: 'rate_limited' }, retryAfter: '1' });
    now += 60_000;
    expect((await generic(pushBody(), 'after-refill')).status).toBe(202);
  });
});
