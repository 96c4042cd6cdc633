import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { fileURLToPath } from 'node:url';
import { simpleGit } from 'simple-git';
import { stringify } from 'yaml';
import { downLocalCluster, upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { launchChromium } from '../harness/chromium.ts';
import { bearer, writeDashboardAuth } from '../harness/dashboard-auth.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { ServeProcess } from '../harness/serve-process.ts';
import { r2 } from './reconcile-fixture.ts';

/**
 * The dashboard at 1,000 apps × 3 clusters, against a real `infra serve --ui` whose apps are all applied:
 *
 * - first paint of the overview in headless Chromium (fresh browser context each run, so assets are not
 *   cached): first-contentful-paint, and the time until the grid is rendered (the `grid-rendered` mark
 *   the page sets once the overview's rows are in the DOM), both from navigation start; median of N.
 *   Baseline, same run: fetching and parsing /ui/api/overview alone from Node (the floor any page pays).
 * - the event stream when nothing changes: bytes read from /ui/api/events over a window after the
 *   first round, per minute (the serve keeps its default 1 min poll, so a poll that finds nothing falls in it).
 */

export interface DashboardOptions {
  readonly apps: number;
  readonly runs: number;
  readonly eventSeconds: number;
}

export interface DashboardFigures {
  readonly apps: number;
  readonly clusters: number;
  readonly firstRoundSeconds: number;
  readonly overviewJsonKiB: number;
  readonly overviewFetchMs: { readonly runs: readonly number[]; readonly median: number };
  readonly firstContentfulPaintMs: { readonly runs: readonly number[]; readonly median: number };
  readonly gridRenderedMs: { readonly runs: readonly number[]; readonly median: number };
  readonly gridOverFetch: number;
  readonly domElements: number;
  readonly idleEvents: { readonly seconds: number; readonly bytes: number; readonly bytesPerMinute: number; readonly events: Readonly<Record<string, number>> };
}

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  value: "dash"\n`;
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const series = (xs: number[]) => ({ runs: xs.map(r2), median: r2(median(xs)) });

export async function benchDashboard(options: DashboardOptions): Promise<DashboardFigures> {
  await build({ root: fileURLToPath(new URL('../../dashboard', import.meta.url)), logLevel: 'warn' });
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-dashboard-'));
  const env = { ...process.env, INFRA_HOME: home };
  const clusters = await Promise.all(['da', 'db', 'dc'].map((n) => upLocalCluster(n, { nodes: 1, unsafeNoFsync: true, env })));
  const work = await GitFixture.create();
  let serve: ServeProcess | undefined;
  const browser = await launchChromium();
  try {
    const bare = join(home, 'platform.git');
    const apps = Array.from({ length: options.apps }, (_, i) => `dash-${String(i).padStart(4, '0')}`);
    await work.commit(Object.fromEntries(apps.map((a) => [`apps/${a}/cm.yaml`, cm(a)])), 'apps');
    await simpleGit().clone(work.dir, bare, ['--bare']);
    const users = await writeDashboardAuth(join(home, 'ui-auth.yaml'));
    const stack = join(home, 'stack.yaml');
    await writeFile(
      stack,
      stringify({
        apiVersion: 'infra.dev/v1alpha1',
        kind: 'Stack',
        metadata: { name: 'bench-dashboard' },
        clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
        gitops: { sources: [{ name: 'platform', url: bare }], apps: apps.map((a) => ({ name: a, source: 'platform', path: `apps/${a}`, timeout: '60s', targets: { clusters: clusters.map((c) => c.name) } })) },
      }),
    );
    const started = performance.now();
    serve = ServeProcess.start(['-f', stack, '--ui', '--ui-auth-file', join(home, 'ui-auth.yaml')], env);
    const base = await serve.url();
    const auth = bearer(users);
    const overview = async () => {
      const res = await fetch(`${base}/ui/api/overview`, { headers: auth });
      if (res.status !== 200) throw new Error(`bench: /ui/api/overview answered ${res.status}`);
      const text = await res.text();
      return { text, data: JSON.parse(text) as { apps: { cells: Record<string, { sync: string }> }[] } };
    };
    // The first round is over when every cell is Synced.
    for (;;) {
      const { data } = await overview();
      const synced = data.apps.reduce((n, a) => n + Object.values(a.cells).filter((c) => c.sync === 'Synced').length, 0);
      if (synced === options.apps * clusters.length) break;
      if (performance.now() - started > 900_000) throw new Error(`bench: only ${synced} cells synced after 15 min`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    const firstRoundSeconds = (performance.now() - started) / 1000;

    const fetchMs: number[] = [];
    let size = 0;
    for (let i = 0; i < options.runs; i++) {
      const t = performance.now();
      size = (await overview()).text.length;
      fetchMs.push(performance.now() - t);
    }

    const fcp: number[] = [];
    const grid: number[] = [];
    let domElements = 0;
    for (let i = 0; i < options.runs; i++) {
      const context = await browser.newContext({ baseURL: base, extraHTTPHeaders: auth, viewport: { width: 1280, height: 720 } });
      const page = await context.newPage();
      await page.goto('/ui/');
      await page.waitForSelector('body[data-ready=overview]', { timeout: 60_000 });
      const m = (await page.evaluate(
        `({ fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1, grid: performance.getEntriesByName('grid-rendered')[0]?.startTime ?? -1, dom: document.getElementsByTagName('*').length })`,
      )) as { fcp: number; grid: number; dom: number };
      fcp.push(m.fcp);
      grid.push(m.grid);
      domElements = m.dom;
      await context.close();
    }

    const idleEvents = await idleStream(`${base}/ui/api/events`, auth, options.eventSeconds);
    const gridSeries = series(grid);
    const fetchSeries = series(fetchMs);
    return {
      apps: options.apps,
      clusters: clusters.length,
      firstRoundSeconds: r2(firstRoundSeconds),
      overviewJsonKiB: Math.round(size / 1024),
      overviewFetchMs: fetchSeries,
      firstContentfulPaintMs: series(fcp),
      gridRenderedMs: gridSeries,
      gridOverFetch: r2(gridSeries.median / fetchSeries.median),
      domElements,
      idleEvents,
    };
  } finally {
    await browser.close();
    await serve?.stop();
    for (const c of clusters) await downLocalCluster(c.name, { purge: true, env });
    await work.remove();
    await rm(home, { recursive: true, force: true });
  }
}

/** Reads the event stream for `seconds`: bytes in total and events by type (`ping` for comment lines). */
async function idleStream(url: string, headers: Record<string, string>, seconds: number): Promise<DashboardFigures['idleEvents']> {
  const stop = new AbortController();
  const res = await fetch(url, { headers, signal: stop.signal });
  if (res.status !== 200 || !res.body) throw new Error(`bench: the event stream answered ${res.status}`);
  const events: Record<string, number> = {};
  let bytes = 0;
  let text = '';
  const timer = setTimeout(() => stop.abort(), seconds * 1000);
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      text += decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      text = lines.pop() ?? '';
      for (const line of lines) {
        const kind = line.startsWith('event: ') ? line.slice(7).trim() : line.startsWith(':') ? 'ping' : undefined;
        if (kind) events[kind] = (events[kind] ?? 0) + 1;
      }
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
  }
  return { seconds, bytes, bytesPerMinute: Math.round((bytes / seconds) * 60), events };
}

