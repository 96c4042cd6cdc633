import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../clusters/wait.ts';
import { sha256 } from '../../reconciler/dashboard/auth.ts';
import { CLI_TEST_TIMEOUT_MS, runInfra } from '../harness/cli.ts';
import { clients, testClusters } from '../harness/environment.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { ServeProcess } from '../harness/serve-process.ts';

/**
 * The dashboard's server side in a real `infra serve --ui`: real clusters, a real Git repository
 * polled every second, real HTTP. Nothing under /ui/ answers without credentials (the event
 * stream included); writes need the write role and the CSRF header; sync now, suspend and resume
 * act on the real reconciles; the overview and the event stream follow a push.
 */

const clusters = testClusters();
const ALICE_TOKEN = 'alice-token-7a1c44e0d9';
const BOB_PASSWORD = 'bob-password-51f0c2';
let repo: GitFixture;
let dir: string;
let serve: ServeProcess;
let base: string;
let env: NodeJS.ProcessEnv;

const cm = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dashboard\n  namespace: default\ndata:\n  value: "${value}"\n`;
const alice = { authorization: `Bearer ${ALICE_TOKEN}` };
const bob = { authorization: `Basic ${Buffer.from(`bob:${BOB_PASSWORD}`).toString('base64')}` };

interface Cell {
  sync: string;
  health: string;
  revision?: string;
  lastError?: { message: string; file?: string; line?: number; object?: string };
}
interface Overview {
  clusters: { name: string; siteKind: string }[];
  apps: { name: string; suspended: boolean; cells: Record<string, Cell> }[];
}

async function call(path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers: init.headers ?? {} });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

async function overview(): Promise<Overview> {
  const r = await call('/ui/api/overview', { headers: bob });
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as Overview;
}

/** Waits until every cluster's cell of `app` satisfies `ok`. */
async function cellsBecome(app: string, ok: (c: Cell) => boolean, timeoutMs = 90_000): Promise<Record<string, Cell>> {
  const found = await waitFor(
    async () => {
      const cells = (await overview()).apps.find((a) => a.name === app)?.cells ?? {};
      return clusters.every((c) => cells[c.name] && ok(cells[c.name] as Cell)) ? cells : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
  if (!found) throw new Error(`cells of ${app} never matched; overview: ${JSON.stringify(await overview())}`);
  return found;
}

async function valueOn(cluster: (typeof clusters)[number]): Promise<string | undefined> {
  try {
    return (await clients(cluster).core.readNamespacedConfigMap({ name: 'dashboard', namespace: 'default' })).data?.['value'];
  } catch {
    return undefined;
  }
}

/** An open event stream: every event as it arrives. */
class EventStream {
  readonly events: { event: string; data: Record<string, unknown> }[] = [];
  raw = '';
  private readonly ac = new AbortController();
  readonly opened: Promise<Response>;

  constructor(headers: Record<string, string>) {
    this.opened = fetch(`${base}/ui/api/events`, { headers, signal: this.ac.signal });
    void this.opened.then(async (res) => {
      if (!res.body) return;
      let partial = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          const text = Buffer.from(chunk).toString('utf8');
          this.raw += text;
          partial += text;
          const blocks = partial.split('\n\n');
          partial = blocks.pop() ?? '';
          for (const b of blocks) {
            const event = /^event: (.+)$/m.exec(b)?.[1];
            const data = /^data: (.+)$/m.exec(b)?.[1];
            if (event && data) this.events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
          }
        }
      } catch {
        // closed by the test
      }
    });
  }

  close(): void {
    this.ac.abort();
  }
}

function stackYaml(): string {
  return stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'serve-dashboard' },
    clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
    gitops: {
      sources: [{ name: 'repo', url: repo.dir, interval: '1s' }],
      apps: [{ name: 'board', source: 'repo', path: 'app', timeout: '60s', targets: { clusters: clusters.map((c) => c.name) } }],
    },
  });
}

beforeAll(async () => {
  repo = await GitFixture.create();
  dir = await mkdtemp(join(tmpdir(), 'infra-serve-dashboard-'));
  env = { ...process.env, INFRA_HOME: join(dir, 'home') };
  await repo.commit({ 'app/cm.yaml': cm('one') });
  await writeFile(join(dir, 'stack.yaml'), stackYaml());
  const auth = `users:\n  - { name: alice, role: write, tokenSha256: ${sha256(ALICE_TOKEN).toString('hex')} }\n  - { name: bob, role: read, passwordSha256: ${sha256(BOB_PASSWORD).toString('hex')} }\n`;
  await writeFile(join(dir, 'auth.yaml'), auth, { mode: 0o600 });
  await chmod(join(dir, 'auth.yaml'), 0o600);
  serve = ServeProcess.start(['-f', join(dir, 'stack.yaml'), '--ui', '--ui-auth-file', join(dir, 'auth.yaml')], env);
  base = await serve.url();
});
afterAll(async () => {
  await serve?.stop('SIGKILL');
  await repo.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('infra serve --ui', () => {
  it('answers 401 on every /ui/ path without valid credentials: page, assets, API, event stream, writes', async () => {
    const paths = ['/ui', '/ui/', '/ui/apps/board', '/ui/assets/index.js', '/ui/api/session', '/ui/api/overview', '/ui/api/events', '/ui/api/apps/board', '/ui/api/apps/board/diff', `/ui/api/clusters/${clusters[0]?.name}`, '/ui/api/nothing'];
    const wrong: Record<string, string>[] = [{}, { authorization: 'Bearer not-a-token' }, { authorization: `Basic ${Buffer.from(`bob:${BOB_PASSWORD}x`).toString('base64')}` }, { authorization: `Basic ${Buffer.from(`alice:${ALICE_TOKEN}`).toString('base64')}` }];
    for (const headers of wrong) {
      for (const path of paths) {
        const r = await call(path, { headers });
        expect({ path, status: r.status }).toEqual({ path, status: 401 });
        expect(r.headers.get('www-authenticate')).toBe('Basic realm="infra"');
      }
      for (const action of ['sync', 'suspend', 'resume']) expect((await call(`/ui/api/apps/board/${action}`, { method: 'POST', headers })).status).toBe(401);
    }
  }, CLI_TEST_TIMEOUT_MS);

  it('gives each user a session with their role and a CSRF token', async () => {
    expect(JSON.parse((await call('/ui/api/session', { headers: alice })).body)).toMatchObject({ user: 'alice', role: 'write', csrf: expect.any(String) });
    expect(JSON.parse((await call('/ui/api/session', { headers: bob })).body)).toMatchObject({ user: 'bob', role: 'read' });
  });

  it('shows the clusters and the synced app, then follows a push live: Progressing, then Synced at the new commit', async () => {
    const first = await cellsBecome('board', (c) => c.sync === 'Synced' && c.health === 'Healthy');
    const o = await overview();
    expect(o.clusters.map((c) => c.name)).toEqual([...clusters.map((c) => c.name)].sort());
    const rev1 = first[clusters[0]?.name as string]?.revision;
    expect(rev1).toMatch(/^[0-9a-f]{40}$/);

    const stream = new EventStream(bob);
    expect((await stream.opened).headers.get('content-type')).toMatch(/^text\/event-stream/);
    const rev2 = await repo.commit({ 'app/cm.yaml': cm('two') });
    const cellEvents = (cluster: string) => stream.events.filter((e) => e.event === 'cell' && e.data['app'] === 'board' && e.data['cluster'] === cluster).map((e) => e.data['cell'] as Cell);
    const done = await waitFor(async () => (clusters.every((c) => cellEvents(c.name).some((x) => x.sync === 'Synced' && x.revision === rev2)) ? true : undefined), { timeoutMs: 90_000, intervalMs: 100 });
    stream.close();
    expect(done, stream.raw).toBe(true);
    for (const c of clusters) {
      const seq = cellEvents(c.name);
      const progressing = seq.findIndex((x) => x.sync === 'Progressing');
      const synced = seq.findIndex((x) => x.sync === 'Synced' && x.revision === rev2);
      expect(progressing, JSON.stringify(seq)).toBeGreaterThanOrEqual(0);
      expect(progressing).toBeLessThan(synced);
      expect(await valueOn(c)).toBe('two');
    }
    expect(stream.raw).not.toMatch(/^(?!event: |data: |: ping|$).*/m); // nothing but events (and pings)
    await cellsBecome('board', (c) => c.sync === 'Synced' && c.revision === rev2);
  }, 150_000);

  it('turns the cells red with the file and line of an invalid commit', async () => {
    await repo.commit({ 'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dashboard\n  namespace: default\ndata: [not, a, map]\n' });
    const cells = await cellsBecome('board', (c) => c.sync === 'Failed');
    for (const c of Object.values(cells)) {
      expect(c.lastError?.message).toBeTruthy();
      expect(c.lastError?.file, JSON.stringify(c)).toBe('app/cm.yaml');
      expect(c.lastError?.line, JSON.stringify(c)).toBeGreaterThanOrEqual(1);
      expect(c.lastError?.object, JSON.stringify(c)).toBe('ConfigMap default/dashboard');
    }
    await repo.commit({ 'app/cm.yaml': cm('three') });
    await cellsBecome('board', (c) => c.sync === 'Synced' && c.health === 'Healthy');
  }, 150_000);

  it('refuses writes: 403 for the read role, without the CSRF header, from another origin', async () => {
    const csrfBob = (JSON.parse((await call('/ui/api/session', { headers: bob })).body) as { csrf: string }).csrf;
    const csrf = (JSON.parse((await call('/ui/api/session', { headers: alice })).body) as { csrf: string }).csrf;
    for (const action of ['sync', 'suspend', 'resume']) {
      expect((await call(`/ui/api/apps/board/${action}`, { method: 'POST', headers: { ...bob, 'x-infra-csrf': csrfBob } })).status).toBe(403);
      expect((await call(`/ui/api/apps/board/${action}`, { method: 'POST', headers: alice })).status).toBe(403);
      expect((await call(`/ui/api/apps/board/${action}`, { method: 'POST', headers: { ...alice, 'x-infra-csrf': csrf, origin: 'http://evil.example' } })).status).toBe(403);
    }
    expect(serve.lines.some((l) => l['msg'] === 'ui action')).toBe(false);
    expect(serve.lines.filter((l) => l['msg'] === 'ui action refused' && l['user'] === 'bob')).toHaveLength(3);
  });

  it('sync now queues a real reconcile for the write role, logged with who asked', async () => {
    const csrf = (JSON.parse((await call('/ui/api/session', { headers: alice })).body) as { csrf: string }).csrf;
    const before = serve.lines.length;
    const r = await call('/ui/api/apps/board/sync', { method: 'POST', headers: { ...alice, 'x-infra-csrf': csrf, origin: base } });
    expect(r.status).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ queued: true });
    await serve.waitForLog((l) => serve.lines.indexOf(l) >= before && l['msg'] === 'reconciling (ui)' && l['app'] === 'board');
    expect(serve.lines.find((l) => serve.lines.indexOf(l) >= before && l['msg'] === 'ui action')).toMatchObject({ user: 'alice', action: 'sync', app: 'board', result: 'queued' });
    expect(serve.raw).not.toContain(ALICE_TOKEN);
    expect(serve.raw).not.toContain(BOB_PASSWORD);
    expect(serve.raw).not.toContain(csrf);
  });

  it('suspends an app: a push is not applied, sync now is refused, resume applies it', async () => {
    const csrf = (JSON.parse((await call('/ui/api/session', { headers: alice })).body) as { csrf: string }).csrf;
    const w = { ...alice, 'x-infra-csrf': csrf };
    const stream = new EventStream(bob);
    await stream.opened;
    expect((await call('/ui/api/apps/board/suspend', { method: 'POST', headers: w })).status).toBe(200);
    expect((await overview()).apps.find((a) => a.name === 'board')?.suspended).toBe(true);
    await waitFor(async () => (stream.events.some((e) => e.event === 'app' && e.data['suspended'] === true) ? true : undefined), { timeoutMs: 10_000 });
    const stored = JSON.parse(await readFile(join(dir, 'home', 'dashboard', 'serve-dashboard.suspended.json'), 'utf8'));
    expect(stored).toEqual({ suspended: ['board'] });

    const before = serve.lines.length;
    const rev = await repo.commit({ 'app/cm.yaml': cm('suspended') });
    await serve.waitForLog((l) => serve.lines.indexOf(l) >= before && l['msg'] === 'new commit' && l['revision'] === rev);
    expect((await call('/ui/api/apps/board/sync', { method: 'POST', headers: w })).status).toBe(409);
    for (const c of clusters) expect(await valueOn(c)).toBe('three');
    expect(serve.lines.slice(before).some((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('reconciling') && l['app'] === 'board')).toBe(false);

    expect((await call('/ui/api/apps/board/resume', { method: 'POST', headers: w })).status).toBe(200);
    await cellsBecome('board', (c) => c.sync === 'Synced' && c.revision === rev);
    for (const c of clusters) expect(await valueOn(c)).toBe('suspended');
    stream.close();
  }, 150_000);

  it('shows an app page: objects per cluster with health, the last reconciles, and the diff of infra diff', async () => {
    const detail = JSON.parse((await call('/ui/api/apps/board', { headers: bob })).body) as {
      clusters: { cluster: string; cell: Cell; objects: { kind: string; namespace?: string; name: string; health: string }[] }[];
      history: { result: string; durationMs: number; revision: string }[];
    };
    expect(detail.clusters.map((c) => c.cluster).sort()).toEqual(clusters.map((c) => c.name).sort());
    for (const c of detail.clusters) expect(c.objects).toContainEqual({ kind: 'ConfigMap', namespace: 'default', name: 'dashboard', health: 'Healthy' });
    expect(detail.history.length).toBeGreaterThanOrEqual(3);
    expect(detail.history.length).toBeLessThanOrEqual(20);
    expect(detail.history.some((h) => h.result === 'Failed')).toBe(true);
    const cluster = JSON.parse((await call(`/ui/api/clusters/${clusters[0]?.name}`, { headers: bob })).body) as { name: string; siteKind: string; apps: string[] };
    expect(cluster).toMatchObject({ name: clusters[0]?.name, siteKind: 'dc', apps: ['board'] });
    expect((await call('/ui/api/clusters/no-such-cluster', { headers: bob })).status).toBe(404);
    expect((await call('/ui/api/apps/no-such-app', { headers: bob })).status).toBe(404);

    const drifted = clusters[0] as (typeof clusters)[number];
    await clients(drifted).core.patchNamespacedConfigMap({ name: 'dashboard', namespace: 'default', body: [{ op: 'replace', path: '/data/value', value: 'by-hand' }] });
    const d = JSON.parse((await call('/ui/api/apps/board/diff', { headers: bob })).body) as { clusters: { cluster: string; diff: string; error?: string }[] };
    const cli = await runInfra(['diff', '-f', join(dir, 'stack.yaml'), 'board'], env);
    for (const c of d.clusters) {
      expect(c.error).toBeUndefined();
      expect(cli.stdout).toContain(c.diff);
    }
    expect(d.clusters.find((c) => c.cluster === drifted.name)?.diff).toMatch(/~ \/ConfigMap\/default\/dashboard  \/data\/value/);
    expect(d.clusters.filter((c) => c.cluster !== drifted.name).every((c) => c.diff.endsWith('no changes'))).toBe(true);
  }, CLI_TEST_TIMEOUT_MS);

  it('a restarted serve shows the last known status from the records at once, and keeps an app suspended', async () => {
    const csrf = (JSON.parse((await call('/ui/api/session', { headers: alice })).body) as { csrf: string }).csrf;
    const last = await cellsBecome('board', (c) => c.sync === 'Synced');
    expect((await call('/ui/api/apps/board/suspend', { method: 'POST', headers: { ...alice, 'x-infra-csrf': csrf } })).status).toBe(200);
    expect(await serve.stop('SIGTERM')).toBe(0);
    serve = ServeProcess.start(['-f', join(dir, 'stack.yaml'), '--ui', '--ui-auth-file', join(dir, 'auth.yaml')], env);
    base = await serve.url();
    // Suspended across the restart: no round reconciles board, so its cells can only come from the records.
    const cells = await cellsBecome('board', (c) => c.sync === 'Synced', 30_000);
    for (const c of clusters) expect(cells[c.name]?.revision).toBe(last[c.name]?.revision);
    expect((await overview()).apps.find((a) => a.name === 'board')?.suspended).toBe(true);
    expect(serve.lines.some((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('reconciling') && l['app'] === 'board')).toBe(false);
    expect((await call('/ui/api/apps/board/resume', { method: 'POST', headers: { ...alice, 'x-infra-csrf': (JSON.parse((await call('/ui/api/session', { headers: alice })).body) as { csrf: string }).csrf } })).status).toBe(200);
    await serve.waitForLog((l) => l['msg'] === 'reconciling (resumed)' && l['app'] === 'board');
  }, 150_000);

  it('refuses to start the dashboard without an auth file, or with one others can read', async () => {
    const noFile = await runInfra(['serve', '-f', join(dir, 'stack.yaml'), '--ui', '--listen', '127.0.0.1:0'], env);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('--ui needs --ui-auth-file');
    await writeFile(join(dir, 'open.yaml'), await readFile(join(dir, 'auth.yaml'), 'utf8'));
    await chmod(join(dir, 'open.yaml'), 0o644);
    const open = await runInfra(['serve', '-f', join(dir, 'stack.yaml'), '--ui', '--ui-auth-file', join(dir, 'open.yaml'), '--listen', '127.0.0.1:0'], env);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('readable by group or others');
  }, CLI_TEST_TIMEOUT_MS);
});

describe('infra serve --ui with a failover policy', () => {
  it("shows the app's placement and its placement move, and each cluster's health (Ready, since when)", async () => {
    const [first, second] = clusters as [(typeof clusters)[number], (typeof clusters)[number]];
    await repo.commit({ 'moved/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: moved\ndata:\n  v: "1"\n` });
    const stackFile = join(dir, 'failover-stack.yaml');
    await writeFile(
      stackFile,
      stringify({
        apiVersion: 'infra.dev/v1alpha1',
        kind: 'Stack',
        metadata: { name: 'serve-dashboard-failover' },
        clusters: [first, second].map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
        gitops: {
          sources: [{ name: 'repo', url: repo.dir, interval: '1s' }],
          apps: [{ name: 'moved', source: 'repo', path: 'moved', namespace: `moved-${process.pid}`, createNamespace: true, timeout: '30s', targets: { clusters: [first.name, second.name] }, placement: { maxClusters: 1, preference: [second.name, first.name], failover: { tolerationSeconds: 30 } } }],
        },
      }),
    );
    const own = ServeProcess.start(['-f', stackFile, '--ui', '--ui-auth-file', join(dir, 'auth.yaml'), '--probe-interval', '1s'], { ...env, INFRA_HOME: join(dir, 'home-failover') });
    try {
      const url = await own.url();
      const get = async (path: string) => JSON.parse(await (await fetch(`${url}${path}`, { headers: bob })).text()) as Record<string, unknown>;
      type Page = { placement?: { clusters: string[]; why: string; explain?: { cluster: string; chosen: boolean; rule: string }[] }; moves?: { from: string; to: string; reason: string; at: string }[] };
      const page = (await waitFor(async () => {
        const p = (await get('/ui/api/apps/moved')) as Page;
        return p.placement?.explain && p.moves?.some((m) => m.reason === 'placement') ? p : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200 })) as Page | undefined;
      expect(page, JSON.stringify(await get('/ui/api/apps/moved'))).toBeDefined();
      expect(page?.placement?.clusters, JSON.stringify(page)).toEqual([second.name]);
      expect(page?.placement?.why).toBe('at home');
      expect(page?.placement?.explain?.find((e) => e.cluster === second.name)?.chosen).toBe(true);
      expect(page?.placement?.explain?.find((e) => e.cluster === first.name)?.chosen).toBe(false);
      expect(page?.moves?.find((m) => m.reason === 'placement')).toMatchObject({ to: second.name, at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      const health = await waitFor(async () => {
        const h = (await get(`/ui/api/clusters/${first.name}`))['health'] as { state?: string; since?: string } | undefined;
        return h?.state === 'Ready' ? h : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200 });
      expect(health?.since).toMatch(/^\d{4}-\d\d-\d\dT/);
      const o = (await get('/ui/api/overview')) as { clusters: { name: string; health?: { state: string } }[] };
      expect(o.clusters.map((c) => c.health?.state)).toEqual(['Ready', 'Ready']);
    } finally {
      await own.stop('SIGKILL');
    }
  }, 60_000);
});
