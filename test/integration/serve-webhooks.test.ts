import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../clusters/wait.ts';
import type { ProviderName } from '../../reconciler/webhooks/providers.ts';
import { runInfra } from '../harness/cli.ts';
import { clients, testClusters } from '../harness/environment.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { ServeProcess } from '../harness/serve-process.ts';
import { hmacHex, postWebhook, signedPush, type SignedRequest } from '../harness/webhook-payloads.ts';

/**
 * Webhooks into a real `infra serve`: a bare repository as the watched source (polling set to an
 * hour, so only webhooks move it), three clusters, a signed push from each provider applied
 * everywhere; every refusal answered with its code, queueing nothing; the secret in no log.
 */

const clusters = testClusters();
const SECRET = randomBytes(24).toString('hex');
const PROVIDERS: ProviderName[] = ['github', 'gitlab', 'gitea', 'bitbucket', 'generic'];
let work: GitFixture;
let dir: string;
let bare: string;
let serve: ServeProcess;
let base: string;
let stackFile: string;
let pushOutput = '';
/** The accepted deliveries, kept to be replayed. */
const delivered = new Map<ProviderName, SignedRequest>();

const cm = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hooked\n  namespace: default\ndata:\n  value: "${value}"\n`;

async function pushCommit(value: string): Promise<string> {
  const sha = await work.commit({ 'app/cm.yaml': cm(value) }, `value ${value}`);
  await simpleGit({ baseDir: work.dir }).push(bare, 'HEAD:main');
  return sha;
}

async function onClusters(): Promise<(string | undefined)[]> {
  return Promise.all(clusters.map(async (c) => (await clients(c).core.readNamespacedConfigMap({ name: 'hooked', namespace: 'default' }).catch(() => undefined))?.data?.['value']));
}

async function everywhere(value: string): Promise<boolean> {
  return (await waitFor(async () => ((await onClusters()).every((v) => v === value) ? true : undefined), { timeoutMs: 90_000, intervalMs: 100 })) === true;
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

beforeAll(async () => {
  work = await GitFixture.create();
  dir = await mkdtemp(join(tmpdir(), 'infra-webhooks-'));
  bare = join(dir, 'platform.git');
  await work.commit({ 'app/cm.yaml': cm('v0') }, 'first');
  await simpleGit().clone(work.dir, bare, ['--bare']);
  const secretFile = join(dir, 'webhook-secret');
  await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
  await chmod(secretFile, 0o600);
  stackFile = join(dir, 'stack.yaml');
  await writeFile(
    stackFile,
    stringify({
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      metadata: { name: 'serve-webhooks' },
      clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
      gitops: {
        sources: [{ name: 'platform', url: bare, interval: '1h', driftInterval: '1h', webhook: { secretFile: 'webhook-secret' } }],
        apps: [{ name: 'hooked', source: 'platform', path: 'app', timeout: '60s', targets: { clusters: clusters.map((c) => c.name) } }],
      },
    }),
  );
  serve = ServeProcess.start(['-f', stackFile]);
  base = await serve.url();
  expect(await everywhere('v0'), serve.raw).toBe(true);
});

afterAll(async () => {
  expect(await serve?.stop()).toBe(0);
  await work?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('infra serve webhooks', () => {
  it.each(PROVIDERS)('a signed %s push is applied on every cluster', async (provider) => {
    const sha = await pushCommit(`via-${provider}`);
    const req = signedPush(provider, { secret: SECRET, url: bare, after: sha });
    delivered.set(provider, req);
    const answer = await postWebhook(`${base}/webhooks/${provider}/platform`, req);
    expect(answer).toMatchObject({ status: 202, json: { result: 'accepted', revision: sha } });
    expect(await everywhere(`via-${provider}`), serve.raw).toBe(true);
    expect(await metric('infra_webhook_requests_total', `provider="${provider}",result="accepted"`)).toBe(1);
  });

  it('a webhook that arrives before its commit is in the repository (mirror lag) is retried, not dropped', async () => {
    const sha = await work.commit({ 'app/cm.yaml': cm('lagging') }, 'value lagging');
    const answer = await postWebhook(`${base}/webhooks/github/platform`, signedPush('github', { secret: SECRET, url: bare, after: sha }));
    expect(answer.status).toBe(202);
    expect(await onClusters()).toEqual(clusters.map(() => 'via-generic'));
    await simpleGit({ baseDir: work.dir }).push(bare, 'HEAD:main');
    expect(await everywhere('lagging'), serve.raw).toBe(true);
  });

  it('refuses bad and missing signatures, a wrong branch, a replay, an oversized body and garbage JSON, and changes nothing', async () => {
    const sha = await pushCommit('must-not-apply');
    const url = (p: ProviderName) => `${base}/webhooks/${p}/platform`;
    const runsBefore = await metric('infra_reconcile_runs_total', 'app="hooked"');
    const garbage = '{"ref": "refs/heads/main", after: nope';
    const big = JSON.stringify({ repository: bare, ref: 'refs/heads/main', after: sha, pad: 'x'.repeat(1024 * 1024) });
    const unsigned = (r: SignedRequest) => ({ ...r, headers: Object.fromEntries(Object.entries(r.headers).filter(([k]) => !/signature|token/.test(k))) });
    const cases: [string, ProviderName, SignedRequest, number, string][] = [
      ['wrong secret', 'github', signedPush('github', { secret: 'not-the-secret', url: bare, after: sha }), 401, 'unauthorized'],
      ['wrong token', 'gitlab', signedPush('gitlab', { secret: 'not-the-secret', url: bare, after: sha }), 401, 'unauthorized'],
      ['missing signature', 'gitea', unsigned(signedPush('gitea', { secret: SECRET, url: bare, after: sha })), 401, 'unauthorized'],
      ['missing signature', 'bitbucket', unsigned(signedPush('bitbucket', { secret: SECRET, url: bare, after: sha })), 401, 'unauthorized'],
      ['wrong branch', 'generic', signedPush('generic', { secret: SECRET, url: bare, after: sha, ref: 'refs/heads/feature' }), 200, 'ignored'],
      ['another repository', 'github', signedPush('github', { secret: SECRET, url: join(dir, 'other.git'), after: sha, id: 'other-repo' }), 200, 'ignored'],
      // Byte for byte an earlier accepted delivery: taken again, it would roll the clusters back to via-github.
      ['replayed delivery', 'github', delivered.get('github')!, 200, 'replay'],
      ['oversized body', 'generic', { body: big, headers: { 'x-infra-event': 'push', 'x-infra-signature': `sha256=${hmacHex(SECRET, big)}` } }, 413, 'too_large'],
      ['garbage JSON', 'generic', { body: garbage, headers: { 'x-infra-signature': `sha256=${hmacHex(SECRET, garbage)}` } }, 400, 'malformed'],
    ];
    for (const [what, provider, req, status, result] of cases) {
      const answer = await postWebhook(url(provider), req);
      expect({ what, status: answer.status, result: answer.json['result'] }).toEqual({ what, status, result });
    }
    // Nothing was queued: no reconcile ran, none waits, and every cluster still has the last applied value.
    expect(await metric('infra_reconcile_runs_total', 'app="hooked"')).toBe(runsBefore);
    expect(await metric('infra_queue_depth', '')).toBe(0);
    expect(await onClusters()).toEqual(clusters.map(() => 'lagging'));
    expect(serve.lines.filter((l) => l['msg'] === 'webhook accepted: reconcile queued' && l['revision'] === sha)).toEqual([]);

    // The same commit, delivered properly, is applied: the refusals above were the only thing stopping it.
    expect((await postWebhook(url('generic'), signedPush('generic', { secret: SECRET, url: bare, after: sha, id: 'finally' }))).status).toBe(202);
    expect(await everywhere('must-not-apply')).toBe(true);
  });

  it('a git push to the bare repository with the hook installed is applied on every cluster', async () => {
    const install = await runInfra(['hook', 'install', bare, '--server', base, '-f', stackFile], process.env);
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain('as source platform');
    const sha = await work.commit({ 'app/cm.yaml': cm('via-hook') }, 'value via-hook');
    const push = await promisify(execFile)('git', ['-C', work.dir, 'push', bare, 'HEAD:main']);
    pushOutput = `${push.stdout}${push.stderr}${install.stdout}${install.stderr}`;
    expect(await everywhere('via-hook'), serve.raw).toBe(true);
    expect(serve.lines.some((l) => l['provider'] === 'generic' && l['result'] === 'accepted' && l['revision'] === sha)).toBe(true);
  });

  it('the secret appears in no log line', () => {
    expect(serve.raw.length).toBeGreaterThan(0);
    expect(serve.raw).not.toContain(SECRET);
    expect(pushOutput).not.toContain(SECRET);
    expect(serve.lines.some((l) => l['result'] === 'unauthorized')).toBe(true);
  });
});
