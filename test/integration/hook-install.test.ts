import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../clusters/wait.ts';
import { verifySignature } from '../../reconciler/webhooks/sign.ts';
import { runInfra } from '../harness/cli.ts';
import { clients, testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';

/** `infra hook install` in real bare repositories, triggered by real `git push`es. */

const SECRET = 'hook-test-secret-7f3a9c';
let dir: string;
let secretFile: string;
let server: Server;
let serverUrl: string;
const received: { headers: IncomingHttpHeaders; body: string; path: string; valid: boolean }[] = [];

/** git as a user runs it: no GIT_* from the test process, no global config. */
function git(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_')));
  return new Promise((resolve) => {
    execFile('git', ['-c', 'user.email=t@infra.dev', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args], { cwd, env: { ...env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A bare repository whose path has a space and a quote, and a clone to push from. */
async function repoPair(name: string): Promise<{ bare: string; work: string }> {
  const bare = join(dir, `${name} it's.git`);
  const work = join(dir, `${name}-work`);
  expect((await git(dir, 'init', '-q', '--bare', '-b', 'main', bare)).code).toBe(0);
  expect((await git(dir, 'clone', '-q', bare, work)).code).toBe(0);
  await git(work, 'checkout', '-q', '-b', 'main');
  return { bare, work };
}

async function commitAndPush(work: string, files: Record<string, string>): Promise<{ sha: string; push: { code: number; stderr: string } }> {
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(work, p, '..'), { recursive: true });
    await writeFile(join(work, p), text);
  }
  await git(work, 'add', '-A');
  expect((await git(work, 'commit', '-q', '--allow-empty', '-m', 'change')).code).toBe(0);
  const sha = (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
  const push = await git(work, 'push', '-q', 'origin', 'main');
  return { sha, push };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-hook-'));
  secretFile = join(dir, "secret file's");
  await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers['x-infra-signature'];
      const valid = verifySignature(SECRET, body, typeof header === 'string' ? header : undefined);
      received.push({ headers: req.headers, body, path: req.url ?? '', valid });
      res.writeHead(valid ? 202 : 401).end(valid ? 'accepted' : 'bad signature');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('infra hook', () => {
  it('notifies infra serve with a signed push, installs idempotently, chains and restores a hook already there', async () => {
    const { bare, work } = await repoPair('notify');
    const hookFile = join(bare, 'hooks', 'post-receive');
    const seen = join(dir, 'old-hook-saw');
    const oldHook = `#!/bin/sh\ncat > '${seen}'\nexit 3\n`;
    await writeFile(hookFile, oldHook);
    await chmod(hookFile, 0o750);

    const args = ['hook', 'install', bare, '--server', serverUrl, '--source', 'app', '--secret-file', secretFile];
    const first = await runInfra(args, process.env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('calls first the hook that was there');
    const installed = await readFile(hookFile, 'utf8');
    expect(installed).not.toContain(SECRET);
    expect((await stat(hookFile)).mode & 0o777).toBe(0o755);
    const again = await runInfra(args, process.env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already installed');
    expect(await readFile(hookFile, 'utf8')).toBe(installed);

    const { sha, push } = await commitAndPush(work, { 'a.txt': 'one' });
    expect(push.code, push.stderr).toBe(0);
    expect(push.stderr).toContain(`infra: notified ${serverUrl}/webhooks/generic/app of refs/heads/main at ${sha.slice(0, 12)} (202)`);
    expect(push.stderr).not.toContain(SECRET);
    expect(received).toHaveLength(1);
    const [hit] = received;
    expect(hit?.valid, 'the signature is the HMAC-SHA256 of the raw body').toBe(true);
    expect(hit?.path).toBe('/webhooks/generic/app');
    expect(JSON.parse(hit?.body ?? '')).toEqual({ repository: bare, ref: 'refs/heads/main', after: sha });
    expect(hit?.headers).toMatchObject({ 'x-infra-event': 'push', 'content-type': 'application/json' });
    expect(hit?.headers['x-infra-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(await readFile(seen, 'utf8'), 'the chained hook ran with the same stdin').toMatch(new RegExp(`^0{40} ${sha} refs/heads/main\\n$`));

    const direct = await new Promise<number>((resolve) => {
      const child = execFile(hookFile, [], { cwd: bare, env: { ...process.env, PATH: process.env['PATH'] ?? '' } }, (err) => resolve(err ? ((err as { code?: number }).code ?? -1) : 0));
      child.stdin?.end(`${'0'.repeat(40)} ${sha} refs/heads/main\n`);
    });
    expect(direct, "the chained hook's exit code is kept").toBe(3);

    const removed = await runInfra(['hook', 'uninstall', bare], process.env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await readFile(hookFile, 'utf8')).toBe(oldHook);
    expect((await stat(hookFile)).mode & 0o777).toBe(0o750);
    const twice = await runInfra(['hook', 'uninstall', bare], process.env);
    expect(twice.stdout).toContain('nothing to do');
    expect(await readFile(hookFile, 'utf8')).toBe(oldHook);
  });

  it('takes the source and its secret file from the stack (-f with --server)', async () => {
    const { bare, work } = await repoPair('from-stack');
    const stackDir = join(dir, 'stack dir');
    await mkdir(stackDir);
    await writeFile(join(stackDir, 'app.secret'), `${SECRET}\n`, { mode: 0o600 });
    const stackFile = join(stackDir, 'stack.yaml');
    await writeFile(stackFile, stringify({ apiVersion: 'infra.dev/v1alpha1', kind: 'Stack', gitops: { sources: [{ name: 'other', url: '/srv/git/other.git' }, { name: 'mine', url: bare, webhook: { secretFile: 'app.secret' } }] } }));
    const r = await runInfra(['hook', 'install', bare, '-f', stackFile, '--server', serverUrl], process.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('as source mine');
    const before = received.length;
    const { sha, push } = await commitAndPush(work, { 'b.txt': 'one' });
    expect(push.code, push.stderr).toBe(0);
    const hit = received[before];
    expect(hit?.valid).toBe(true);
    expect(hit?.path).toBe('/webhooks/generic/mine');
    expect(JSON.parse(hit?.body ?? '')).toMatchObject({ after: sha });
  });

  it('a push succeeds with a clear message when infra serve is down or the secret is wrong', async () => {
    const { bare, work } = await repoPair('down');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect((await runInfra(['hook', 'install', bare, '--server', `http://127.0.0.1:${port}`, '--source', 'app', '--secret-file', secretFile], process.env)).code).toBe(0);
    await commitAndPush(work, { 'a.txt': 'one' });
    await git(work, 'branch', 'dev');
    await git(work, 'branch', 'ops');
    const down = await git(work, 'push', '-q', 'origin', 'dev', 'ops');
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/infra: http:\/\/127\.0\.0\.1:\d+\/webhooks\/generic\/app: could not reach infra serve: connect ECONNREFUSED .* — the push is stored.* \(not sent for 1 more branch\)/);

    const wrong = join(dir, 'wrong-secret');
    await writeFile(wrong, 'not-the-secret', { mode: 0o600 });
    expect((await runInfra(['hook', 'install', bare, '--server', serverUrl, '--source', 'app', '--secret-file', wrong], process.env)).code).toBe(0);
    const refused = await commitAndPush(work, { 'a.txt': 'two' });
    expect(refused.push.code, refused.push.stderr).toBe(0);
    expect(refused.push.stderr).toContain('infra serve answered 401 for refs/heads/main: bad signature');
    expect(refused.push.stderr).not.toContain('not-the-secret');

    await writeFile(wrong, '\n', { mode: 0o600 });
    const before = received.length;
    const empty = await commitAndPush(work, { 'a.txt': 'three' });
    expect(empty.push.code, empty.push.stderr).toBe(0);
    expect(empty.push.stderr).toContain('the webhook secret is empty');
    expect(received.length, 'nothing unsigned is sent').toBe(before);
  });

  it('without a server, a push reconciles the stack onto a real cluster in the background', async () => {
    const [cluster] = testClusters() as [TestCluster];
    const { bare, work } = await repoPair('reconcile');
    const stackFile = join(dir, 'stack.yaml');
    await writeFile(
      stackFile,
      stringify({
        apiVersion: 'infra.dev/v1alpha1',
        kind: 'Stack',
        metadata: { name: 'hook-install' },
        clusters: [{ name: cluster.name, kubeconfig: cluster.kubeconfig }],
        gitops: { sources: [{ name: 'repo', url: bare }], apps: [{ name: 'hook-app', source: 'repo', path: 'app', namespace: 'default', timeout: '30s', targets: { clusters: [cluster.name] } }] },
      }),
    );
    const r = await runInfra(['hook', 'install', bare, '-f', stackFile], process.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`runs infra reconcile -f ${stackFile} in the background`);
    const cm = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hook-app\ndata:\n  pushed: "${v}"\n`;
    const core = clients(cluster).core;
    const pushed = async (v: string) =>
      (await core.readNamespacedConfigMap({ name: 'hook-app', namespace: 'default' }).catch(() => undefined))?.data?.['pushed'] === v || undefined;
    const log = join(bare, 'infra-reconcile.log');

    const started = Date.now();
    const first = await commitAndPush(work, { 'app/cm.yaml': cm('first') });
    expect(first.push.code, first.push.stderr).toBe(0);
    expect(Date.now() - started, 'git push does not wait for the reconcile').toBeLessThan(10_000);
    expect(first.push.stderr).toContain('infra: reconciling in the background');
    const applied = await waitFor(() => pushed('first'), { timeoutMs: 60_000, intervalMs: 100 });
    expect(applied, await readFile(log, 'utf8').catch(() => 'no log')).toBe(true);

    const runsBefore = (await readFile(log, 'utf8')).match(/ reconciling /g)?.length ?? 0;
    const burst = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
    for (const v of burst) expect((await commitAndPush(work, { 'app/cm.yaml': cm(v) })).push.code).toBe(0);
    expect(await waitFor(() => pushed('b6'), { timeoutMs: 90_000, intervalMs: 100 }), await readFile(log, 'utf8').catch(() => 'no log')).toBe(true);
    // Every background run has ended (ran or stepped aside) once the lock is free and each push left its line.
    const text = await waitFor(async () => {
      const t = await readFile(log, 'utf8');
      const ended = (t.match(/^APP\s+CLUSTER/gm)?.length ?? 0) + (t.match(/ skipped: a newer push is queued/g)?.length ?? 0);
      return ended === burst.length + 1 ? t : undefined;
    }, { timeoutMs: 90_000, intervalMs: 100 });
    expect(text, await readFile(log, 'utf8')).toBeDefined();
    const runs = (text?.match(/ reconciling /g)?.length ?? 0) - runsBefore;
    expect(runs, 'a burst of pushes coalesces').toBeLessThan(burst.length);
    expect(await pushed('b6'), 'the last push wins').toBe(true);
  });
});
