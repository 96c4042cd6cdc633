import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { simpleGit } from 'simple-git';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../harness/chromium.ts';
import { basic, bearer, writeDashboardAuth, type DashboardUsers } from '../harness/dashboard-auth.ts';
import { testClusters } from '../harness/environment.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { ServeProcess } from '../harness/serve-process.ts';

/**
 * The dashboard in headless Chromium against a real `infra serve --ui` on the three test clusters
 * and a real Git repository: the grid, live updates on a push, a broken commit, the write and read
 * roles, and nothing without credentials. DASHBOARD_SCREENSHOTS=<dir> also saves the screenshots
 * of the README (`npm run screenshots`).
 */

const clusters = testClusters();
const names = clusters.map((c) => c.name);
let repo: GitFixture;
let dir: string;
/** The bare repository serve pulls from, as a Git server's would be; `push` sends the work repository's commits to it. */
let bare: string;
let serve: ServeProcess;
let base: string;
let users: DashboardUsers;
let browser: Browser;
const contexts: BrowserContext[] = [];
const screenshots = process.env['DASHBOARD_SCREENSHOTS'];

const cm = (name: string, value: string, extra = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  value: "${value}"\n${extra}`;
const APPS = ['api', 'web', 'worker'];

/** The stack, kept in Git (serve's `--stack-from`); the bootstrap stack given with -f has no apps. */
function stackYaml(apps: readonly string[]): string {
  return stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'dashboard-browser' },
    clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
    gitops: {
      sources: [{ name: 'repo', url: bare, interval: '1s' }],
      apps: apps.map((a) => ({ name: a, source: 'repo', path: `apps/${a}`, timeout: '60s', targets: { clusters: names } })),
    },
  });
}

/** Commits in the work repository and pushes to the bare one; returns the commit. */
async function push(files: Readonly<Record<string, string>>): Promise<string> {
  const sha = await repo.commit(files);
  await simpleGit({ baseDir: repo.dir }).push(bare, 'HEAD:main');
  return sha;
}

async function pageAs(who: 'writer' | 'reader' | 'nobody'): Promise<Page> {
  const context = await browser.newContext({
    baseURL: base,
    viewport: { width: 1280, height: 720 },
    ...(who === 'writer' ? { extraHTTPHeaders: bearer(users) } : {}),
    ...(who === 'reader' ? { httpCredentials: { username: users.reader.name, password: users.reader.password } } : {}),
  });
  contexts.push(context);
  return context.newPage();
}

const cell = (page: Page, app: string, cluster: string) => page.locator(`[data-app="${app}"] [data-cluster="${cluster}"]`);

/*
 * Code run inside the page is passed as text: the test files are type-checked for Node, without the DOM.
 */

/** Waits until every cell of `app` says `sync` (and, when given, shows `revision`). */
async function cellsSay(page: Page, app: string, sync: string, revision?: string): Promise<void> {
  const args = JSON.stringify({ app, sync, revision: revision ?? null, names });
  await page.waitForFunction(
    `(() => { const a = ${args}; return a.names.every((c) => {
      const el = document.querySelector('[data-app="' + a.app + '"] [data-cluster="' + c + '"]');
      return !!el && el.getAttribute('data-sync') === a.sync && (a.revision === null || (el.textContent || '').includes(a.revision));
    }); })()`,
    undefined,
    { timeout: 90_000, polling: 100 },
  );
}

/** Records every state the cell of web × `cluster` shows from now on, and sets a marker a reload would wipe. */
const WATCH_CELL = (cluster: string) => `(() => {
  const read = () => {
    const el = document.querySelector('[data-app="web"] [data-cluster=${JSON.stringify(cluster)}]');
    return el ? el.getAttribute('data-sync') + '/' + el.getAttribute('data-health') : '';
  };
  window.seen = [read()];
  window.sameDocument = true;
  new MutationObserver(() => {
    const now = read();
    if (now !== window.seen[window.seen.length - 1]) window.seen.push(now);
  }).observe(document.querySelector('[data-testid=grid]'), { subtree: true, childList: true, attributes: true, characterData: true });
})()`;

/** A write from inside the page, with the session's CSRF token: the status it gets. */
const SYNC_FROM_PAGE = `(async () => {
  const session = await (await fetch('/ui/api/session')).json();
  const res = await fetch('/ui/api/apps/web/sync', { method: 'POST', headers: { 'X-Infra-CSRF': session.csrf } });
  return res.status;
})()`;

async function shoot(page: Page, file: string): Promise<void> {
  if (!screenshots) return;
  await mkdir(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, file), fullPage: true });
}

beforeAll(async () => {
  repo = await GitFixture.create();
  dir = await mkdtemp(join(tmpdir(), 'infra-dashboard-'));
  bare = join(dir, 'platform.git');
  await repo.commit({ ...Object.fromEntries(APPS.map((a) => [`apps/${a}/cm.yaml`, cm(`${a}-config`, 'one')])), 'stacks/dashboard.yaml': stackYaml(APPS) });
  await simpleGit().clone(repo.dir, bare, ['--bare']);
  await writeFile(join(dir, 'bootstrap.yaml'), stackYaml([]));
  users = await writeDashboardAuth(join(dir, 'ui-auth.yaml'));
  // Its own INFRA_HOME: serve keeps health clocks, placements and suspended apps there, and a run must not start from an earlier run's.
  serve = ServeProcess.start(['-f', join(dir, 'bootstrap.yaml'), '--stack-from', 'repo:stacks/dashboard.yaml', '--ui', '--ui-auth-file', join(dir, 'ui-auth.yaml')], { ...process.env, INFRA_HOME: join(dir, 'home') });
  base = await serve.url();
  browser = await launchChromium();
});
afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await serve?.stop('SIGKILL');
  await repo?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('dashboard in a real browser', () => {
  it('answers nothing without credentials (401), the event stream and assets included', async () => {
    const html = await readFile(new URL('../../dashboard/dist/index.html', import.meta.url), 'utf8');
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset, 'the built index.html loads a script from /ui/assets/').toBeDefined();
    const paths = ['/ui/', '/ui/index.html', asset!, '/ui/api/session', '/ui/api/overview', '/ui/api/events', '/ui/api/apps/web', '/ui/api/apps/web/diff', `/ui/api/clusters/${names[0]}`, '/ui/#/apps/web'];
    for (const path of paths) {
      for (const headers of [{} as Record<string, string>, { Authorization: 'Bearer not-a-valid-token-0000' }, { Authorization: `Basic ${Buffer.from(`${users.reader.name}:wrong`).toString('base64')}` }]) {
        const res = await fetch(`${base}${path}`, { headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate'), path).toMatch(/^Basic realm="infra"/);
        await res.body?.cancel();
      }
    }
    const post = await fetch(`${base}/ui/api/apps/web/sync`, { method: 'POST' });
    expect(post.status).toBe(401);

    // A browser without credentials gets the challenge and no page (headless Chromium has no one to ask).
    const page = await pageAs('nobody');
    const answers: number[] = [];
    page.on('response', (r) => answers.push(r.status()));
    const error = await page.goto('/ui/').then(
      (r) => `loaded with ${r?.status()}`,
      (e: unknown) => String(e),
    );
    expect(error).toContain('ERR_INVALID_AUTH_CREDENTIALS');
    expect(answers.filter((s) => s !== 401), 'only 401 answers').toEqual([]);
    expect(await page.locator('[data-testid=grid]').count()).toBe(0);
  });

  it('shows the three test clusters as columns and every app synced on them', async () => {
    const page = await pageAs('writer');
    await page.goto('/ui/');
    await page.waitForSelector('body[data-ready=overview]');
    const columns = await page.locator('[data-cluster-column]').evaluateAll((els) => els.map((e) => e.getAttribute('data-cluster-column')));
    expect([...columns].sort()).toEqual([...names].sort());
    expect(await page.locator('[data-app]').evaluateAll((els) => els.map((e) => e.getAttribute('data-app')))).toEqual(APPS);
    for (const app of APPS) await cellsSay(page, app, 'Synced');
    // Colour and words: a synced, healthy cell is green and says so.
    await expect(cell(page, 'web', names[0]!).getAttribute('data-tone')).resolves.toBe('ok');
    expect(await cell(page, 'web', names[0]!).textContent()).toContain('Synced · Healthy');
    expect(await page.getByTestId('who').textContent()).toBe(`${users.writer.name} (write)`);

    // The cluster page: its health and since when, how it is probed, the apps placed there, its capacity.
    await page.locator(`[data-cluster-column="${names[1]}"]`).click();
    await page.waitForSelector('[data-testid=cluster-page]');
    expect(await page.locator('[data-testid=cluster-page] ul.apps li').allTextContents()).toEqual(expect.arrayContaining(APPS));
    const facts = async () => Object.fromEntries(await page.locator('[data-testid=cluster-page] table.facts tr').evaluateAll((rows) => rows.map((r) => [r.querySelector('th')?.textContent ?? '', r.querySelector('td')?.textContent ?? ''])));
    await expect.poll(async () => (await facts())['state'], { timeout: 30_000 }).toBe('Ready');
    const seen = await facts();
    expect(seen['since']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(seen['probe']).toMatch(/readyz.*Lease/);
    expect(seen['cpu']).toMatch(/^\d+m free of [1-9]\d*m$/);
    expect(seen['pods']).toMatch(/^\d+ free of [1-9]\d*$/);
  });

  it('a push turns a cell Synced → Progressing → Synced at the new revision, without a reload', async () => {
    const page = await pageAs('writer');
    await page.goto('/ui/');
    await page.waitForSelector('body[data-ready=overview]');
    await cellsSay(page, 'web', 'Synced');
    await page.evaluate(WATCH_CELL(names[0]!));

    const sha = await push({ 'apps/web/cm.yaml': cm('web-config', 'two') });
    await cellsSay(page, 'web', 'Synced', sha.slice(0, 8));
    const { seen, sameDocument } = (await page.evaluate('({ seen: window.seen, sameDocument: window.sameDocument })')) as { seen: string[]; sameDocument: boolean };
    expect(sameDocument, 'no reload').toBe(true);
    expect(seen[0]).toBe('Synced/Healthy');
    const progressing = seen.findIndex((s) => s.includes('Progressing'));
    expect(progressing, `states seen: ${seen.join(' → ')}`).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe('Synced/Healthy');
  });

  it('an invalid commit turns the cells red, naming the file and the object', async () => {
    const page = await pageAs('writer');
    await page.goto('/ui/');
    await page.waitForSelector('body[data-ready=overview]');
    const broken = await push({ 'apps/web/cm.yaml': cm('web-config', 'three', 'spec:\n  nonsense: true\n') });
    await cellsSay(page, 'web', 'Failed', broken.slice(0, 8));
    for (const c of names) {
      expect(await cell(page, 'web', c).getAttribute('data-tone'), c).toBe('bad');
      const text = await cell(page, 'web', c).textContent();
      expect(text, c).toContain('Failed');
      expect(text, c).toContain('apps/web/cm.yaml');
      expect(text, c).toContain('web-config');
    }
    // The other apps are not touched by it.
    for (const app of ['api', 'worker']) expect(await cell(page, app, names[0]!).getAttribute('data-tone')).toBe('ok');
    await shoot(page, 'overview.png');
    // The state filter keeps the failing app only; the site filter (all test clusters are in a dc) keeps every column.
    await page.locator('select[name=state]').selectOption('Failed');
    expect(await page.locator('[data-app]').evaluateAll((els) => els.map((e) => e.getAttribute('data-app')))).toEqual(['web']);
    await page.locator('select[name=state]').selectOption('all');
    await page.locator('select[name=site]').selectOption('dc');
    expect(await page.locator('[data-cluster-column]').count()).toBe(names.length);
    expect(await page.locator('[data-app]').count()).toBe(APPS.length);

    const fixed = await push({ 'apps/web/cm.yaml': cm('web-config', 'four') });
    await cellsSay(page, 'web', 'Synced', fixed.slice(0, 8));
  });

  it('"Sync now" on the app page queues a reconcile for the write role and is logged with who did it', async () => {
    const page = await pageAs('writer');
    await page.goto('/ui/#/apps/web');
    await page.waitForSelector('[data-testid=app-page]');
    expect(await page.locator('[data-cluster-section]').count()).toBe(names.length);
    await page.locator('button[data-action=diff]').click();
    await page.waitForSelector('[data-diff-cluster]');
    expect(await page.locator('[data-diff-cluster]').count()).toBe(names.length);
    await shoot(page, 'app.png');

    const before = serve.lines.length;
    await page.locator('button[data-action=sync]').click();
    await page.getByTestId('notice').filter({ hasText: 'sync: queued' }).waitFor();
    const action = await serve.waitForLog((l) => String(l['msg']).startsWith('ui action') && l['user'] === users.writer.name && l['action'] === 'sync' && l['app'] === 'web');
    expect(serve.lines.indexOf(action)).toBeGreaterThanOrEqual(before);
    const at = serve.lines.indexOf(action);
    await serve.waitForLog((l) => serve.lines.indexOf(l) > at && l['app'] === 'web' && String(l['msg']).startsWith('Synced'));
    expect(await page.locator('table.history tbody tr').count(), 'the last reconciles').toBeGreaterThan(0);

    // Suspend and resume from the same page: the buttons follow the app's state, live.
    await page.locator('button[data-action=suspend]').click();
    await page.locator('button[data-action=resume]').waitFor();
    expect(await page.locator('h1 .badge').textContent()).toBe('suspended');
    await page.locator('button[data-action=resume]').click();
    await page.locator('button[data-action=suspend]').waitFor();
    expect(serve.raw).not.toContain(users.writer.token);
    expect(serve.raw).not.toContain(users.reader.password);
  });

  it('an app added to the stack in Git gets its row without a reload', async () => {
    const page = await pageAs('writer');
    await page.goto('/ui/');
    await page.waitForSelector('body[data-ready=overview]');
    await page.evaluate('window.sameDocument = true');
    const sha = await push({ 'apps/extra/cm.yaml': cm('extra-config', 'one'), 'stacks/dashboard.yaml': stackYaml([...APPS, 'extra']) });
    await cellsSay(page, 'extra', 'Synced', sha.slice(0, 8));
    expect(await page.locator('[data-app]').evaluateAll((els) => els.map((e) => e.getAttribute('data-app')))).toEqual(['api', 'extra', 'web', 'worker']);
    expect(await page.evaluate('window.sameDocument'), 'no reload').toBe(true);
  });

  it('the read role sees no write buttons and the server refuses its writes (403)', async () => {
    const page = await pageAs('reader');
    await page.goto('/ui/#/apps/web');
    await page.waitForSelector('[data-testid=app-page]');
    expect(await page.getByTestId('who').textContent()).toBe(`${users.reader.name} (read)`);
    expect(await page.locator('button[data-action=sync]').count()).toBe(0);
    const status = await page.evaluate(SYNC_FROM_PAGE);
    expect(status).toBe(403);
    // The same write from the write role without the CSRF header is refused too.
    const res = await fetch(`${base}/ui/api/apps/web/sync`, { method: 'POST', headers: bearer(users) });
    expect(res.status).toBe(403);
    expect((await fetch(`${base}/ui/api/overview`, { headers: basic(users) })).status, 'reading is fine').toBe(200);
  });
});
