import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readDelivery, type Headers, type ProviderName } from '../../reconciler/webhooks/providers.ts';
import { normaliseRepositoryUrl, sameRepository } from '../../reconciler/webhooks/repository-url.ts';
import { ReplayCache } from '../../reconciler/webhooks/replay-cache.ts';
import { TokenBuckets } from '../../reconciler/webhooks/rate-limit.ts';
import { WebhookSecret, watchedSources } from '../../reconciler/webhooks/secret.ts';
import { verdictFor } from '../../reconciler/webhooks/verdict.ts';
import { inspect } from 'node:util';
import { signedPush } from '../harness/webhook-payloads.ts';

const SECRET = 'a-long-shared-secret-for-tests';
const secret = new WebhookSecret(SECRET);
const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
const hex = (body: string, key = SECRET) => createHmac('sha256', key).update(body).digest('hex');

function push(provider: ProviderName, opts: { url?: string; ref?: string; after?: string; key?: string; id?: string } = {}): { headers: Headers; body: string } {
  return signedPush(provider, { url: opts.url ?? 'https://git.example.com/team/platform.git', after: opts.after ?? SHA, secret: opts.key ?? SECRET, id: opts.id ?? 'delivery-1', ...(opts.ref ? { ref: opts.ref } : {}) });
}

const PROVIDERS: ProviderName[] = ['github', 'gitlab', 'gitea', 'bitbucket', 'generic'];
const watched = { url: 'https://git.example.com/team/platform', ref: { branch: 'main' } };
const always = () => true;

describe('webhook providers', () => {
  it.each(PROVIDERS)('%s: a signed push to the followed branch is accepted with its commit', (p) => {
    const { headers, body } = push(p);
    const d = readDelivery(p, headers, Buffer.from(body), secret);
    expect(d).toMatchObject({ kind: 'push', id: 'delivery-1', changes: [{ ref: 'refs/heads/main', after: SHA, deleted: false }] });
    expect(verdictFor(watched, d, always)).toEqual({ status: 202, result: 'accepted', revision: SHA });
  });

  it.each(PROVIDERS)('%s: a wrong secret, a missing signature or a changed body is 401', (p) => {
    const wrong = push(p, { key: 'another-secret' });
    expect(verdictFor(watched, readDelivery(p, wrong.headers, Buffer.from(wrong.body), secret), always)).toMatchObject({ status: 401, result: 'unauthorized' });
    const good = push(p);
    const unsigned = Object.fromEntries(Object.entries(good.headers).filter(([k]) => !/signature|token/.test(k)));
    expect(readDelivery(p, unsigned, Buffer.from(good.body), secret).kind).toBe('unauthorized');
    const tampered = good.body.replace(SHA, 'f'.repeat(40));
    // GitLab's token does not sign the body: a changed body with the right token is GitLab's own design.
    if (p !== 'gitlab') expect(readDelivery(p, good.headers, Buffer.from(tampered), secret).kind).toBe('unauthorized');
  });

  it.each(PROVIDERS)('%s: garbage JSON under a valid signature is 400', (p) => {
    const garbage = '{"ref": refs/heads/main';
    const { headers } = push(p);
    const signed: Record<string, string | undefined> = { ...(headers as Record<string, string>) };
    if (signed['x-hub-signature-256']) signed['x-hub-signature-256'] = `sha256=${hex(garbage)}`;
    if (signed['x-hub-signature']) signed['x-hub-signature'] = `sha256=${hex(garbage)}`;
    if (signed['x-gitea-signature']) signed['x-gitea-signature'] = hex(garbage);
    if (signed['x-infra-signature']) signed['x-infra-signature'] = `sha256=${hex(garbage)}`;
    expect(verdictFor(watched, readDelivery(p, signed, Buffer.from(garbage), secret), always)).toMatchObject({ status: 400, result: 'malformed' });
  });

  it.each(PROVIDERS)('%s: another branch or repository is ignored (200), a replayed delivery too (200 replay), nothing queued', (p) => {
    const other = push(p, { ref: 'refs/heads/feature' });
    expect(verdictFor(watched, readDelivery(p, other.headers, Buffer.from(other.body), secret), always)).toMatchObject({ status: 200, result: 'ignored', reason: 'refs/heads/feature is not refs/heads/main' });
    const elsewhere = push(p, { url: 'https://git.example.com/team/other.git' });
    expect(verdictFor(watched, readDelivery(p, elsewhere.headers, Buffer.from(elsewhere.body), secret), always)).toMatchObject({ status: 200, result: 'ignored', reason: 'a push to another repository' });
    const cache = new ReplayCache();
    const first = push(p);
    const d = readDelivery(p, first.headers, Buffer.from(first.body), secret);
    expect(verdictFor(watched, d, (id) => cache.firstTime(id)).result).toBe('accepted');
    expect(verdictFor(watched, d, (id) => cache.firstTime(id))).toMatchObject({ status: 200, result: 'replay', reason: 'delivery delivery-1 was already received' });
  });

  it('pings: GitHub ping, Bitbucket Server diagnostics:ping and the generic ping answer 200; unsigned pings are 401', () => {
    const gh = '{"zen":"Keep it logically awesome.","hook_id":1}';
    expect(readDelivery('github', { 'x-github-event': 'ping', 'x-hub-signature-256': `sha256=${hex(gh)}` }, Buffer.from(gh), secret)).toEqual({ kind: 'ping' });
    expect(verdictFor(watched, { kind: 'ping' }, always)).toEqual({ status: 200, result: 'ping' });
    const bb = '{"test":true}';
    expect(readDelivery('bitbucket', { 'x-event-key': 'diagnostics:ping', 'x-hub-signature': `sha256=${hex(bb)}` }, Buffer.from(bb), secret).kind).toBe('ping');
    expect(readDelivery('generic', { 'x-infra-event': 'ping', 'x-infra-signature': `sha256=${hex('{}')}` }, Buffer.from('{}'), secret).kind).toBe('ping');
    expect(readDelivery('github', { 'x-github-event': 'ping' }, Buffer.from(gh), secret).kind).toBe('unauthorized');
  });

  it('Forgejo: its own signature header is the one checked when present', () => {
    const body = JSON.stringify({ ref: 'refs/heads/main', after: SHA, repository: { clone_url: watched.url } });
    expect(readDelivery('gitea', { 'x-forgejo-event': 'push', 'x-forgejo-signature': hex(body) }, Buffer.from(body), secret).kind).toBe('push');
    expect(readDelivery('gitea', { 'x-forgejo-event': 'push', 'x-forgejo-signature': hex(body, 'x'), 'x-gitea-signature': hex(body) }, Buffer.from(body), secret).kind).toBe('unauthorized');
  });

  it('GitLab: Idempotency-Key (kept across retries) names the delivery before the event UUID', () => {
    const { headers, body } = push('gitlab');
    expect(readDelivery('gitlab', { ...headers, 'idempotency-key': 'retry-key' }, Buffer.from(body), secret)).toMatchObject({ id: 'retry-key' });
  });

  it('Bitbucket Server: the followed ref is found among several changes; a deleted branch is ignored', () => {
    const body = JSON.stringify({
      repository: { links: { clone: [{ href: watched.url }] } },
      changes: [
        { refId: 'refs/heads/feature', toHash: 'a'.repeat(40), type: 'UPDATE' },
        { refId: 'refs/heads/main', toHash: SHA, type: 'UPDATE' },
      ],
    });
    const headers = { 'x-event-key': 'repo:refs_changed', 'x-hub-signature': `sha256=${hex(body)}` };
    expect(verdictFor(watched, readDelivery('bitbucket', headers, Buffer.from(body), secret), always)).toEqual({ status: 202, result: 'accepted', revision: SHA });
    const gone = body.replace(/"UPDATE"}\]/, '"DELETE"}]');
    expect(verdictFor(watched, readDelivery('bitbucket', { ...headers, 'x-hub-signature': `sha256=${hex(gone)}` }, Buffer.from(gone), secret), always)).toMatchObject({ result: 'ignored', reason: 'refs/heads/main was deleted' });
  });

  it('non-push events, tags and pinned commits', () => {
    const body = '{"action":"opened"}';
    expect(verdictFor(watched, readDelivery('github', { 'x-github-event': 'pull_request', 'x-hub-signature-256': `sha256=${hex(body)}` }, Buffer.from(body), secret), always)).toMatchObject({ status: 200, result: 'ignored', reason: 'event "pull_request" is not a push' });
    const tag = push('generic', { ref: 'refs/tags/v1' });
    const d = readDelivery('generic', tag.headers, Buffer.from(tag.body), secret);
    expect(verdictFor({ ...watched, ref: { tag: 'v1' } }, d, always).result).toBe('accepted');
    expect(verdictFor({ ...watched, ref: { commit: SHA } }, d, always)).toMatchObject({ result: 'ignored', reason: 'the source follows a pinned commit' });
  });
});

describe('repository URLs', () => {
  it('one spelling for https, ssh, scp-like, .git and case; local paths resolved', () => {
    const one = 'git.example.com/team/platform';
    for (const u of ['https://git.example.com/team/platform.git', 'https://user@Git.Example.com/Team/Platform/', 'ssh://git@git.example.com:7999/team/platform.git', 'git@git.example.com:team/platform.git', 'http://git.example.com:8080/team/platform']) {
      expect(normaliseRepositoryUrl(u)).toBe(one);
    }
    expect(normaliseRepositoryUrl('/srv/git/platform.git/')).toBe('/srv/git/platform');
    expect(normaliseRepositoryUrl('file:///srv/git/platform.git')).toBe('/srv/git/platform');
    expect(sameRepository('/srv/git/platform.git', ['/srv/git/platform.git'])).toBe(true);
    expect(sameRepository('/srv/git/Platform', ['/srv/git/platform'])).toBe(false);
    expect(sameRepository('https://git.example.com/team/platform', ['https://git.example.com/team/platform-old'])).toBe(false);
  });
});

describe('replay cache and rate limit', () => {
  it('the replay cache is bounded: the oldest id leaves first', () => {
    const c = new ReplayCache(2);
    expect([c.firstTime('a'), c.firstTime('b'), c.firstTime('a'), c.firstTime('c'), c.size]).toEqual([true, true, false, true, 2]);
    expect(c.firstTime('a')).toBe(true);
  });

  it('a token bucket per source refills over time', () => {
    let now = 0;
    const b = new TokenBuckets({ burst: 2, perSecond: 1 }, () => now);
    expect([b.take('s'), b.take('s'), b.take('t')]).toEqual([0, 0, 0]);
    expect(b.take('s')).toBe(1000);
    now = 500;
    expect(b.take('s')).toBe(500);
    now = 1000;
    expect(b.take('s')).toBe(0);
  });
});

describe('webhook secrets', () => {
  it('are read once from a file (one trailing newline dropped) or the environment, and never print', async () => {
    const reads: string[] = [];
    const readers = { env: { HOOK: 'from-env' }, readFile: async (p: string) => (reads.push(p), Buffer.from(`${SECRET}\n`)) };
    const sources = [
      { name: 'a', url: '/r', ref: { branch: 'main' }, webhook: { secretFile: '/s/a' } },
      { name: 'b', url: '/r', ref: { branch: 'main' }, webhook: { secretEnv: 'HOOK' } },
      { name: 'c', url: '/r', ref: { branch: 'main' } },
    ];
    const w = await watchedSources(sources, readers);
    expect(w.map((s) => s.name)).toEqual(['a', 'b']);
    expect(w[0]?.secret.bytes().toString()).toBe(SECRET);
    expect(w[1]?.secret.bytes().toString()).toBe('from-env');
    expect(reads).toEqual(['/s/a']);
    const printed = [String(w[0]?.secret), JSON.stringify(w), inspect(w, { depth: 5 }), `${w[1]?.secret}`].join(' ');
    expect(printed).not.toContain(SECRET);
    expect(printed).not.toContain('from-env');
  });

  it('a missing file, unset variable or empty secret stops the start with what to do', async () => {
    const src = (webhook: { secretFile: string } | { secretEnv: string }) => [{ name: 'a', url: '/r', ref: { branch: 'main' }, webhook }];
    const missing = { env: {}, readFile: async () => { throw Object.assign(new Error('nope'), { code: 'ENOENT' }); } };
    await expect(watchedSources(src({ secretFile: '/s/a' }), missing)).rejects.toThrow(/cannot read the webhook secret file \/s\/a: ENOENT/);
    await expect(watchedSources(src({ secretEnv: 'NOPE' }), missing)).rejects.toThrow(/NOPE is not set/);
    await expect(watchedSources(src({ secretFile: '/s/a' }), { env: {}, readFile: async () => Buffer.from('\n') })).rejects.toThrow(/empty/);
  });
});
