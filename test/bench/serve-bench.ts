import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { stringify } from 'yaml';
import { KubeClient } from '../../clusters/kube-client.ts';
import { downLocalCluster, upLocalCluster, type LocalClusterInfo } from '../../clusters/local/local-cluster.ts';
import { runInfra } from '../harness/cli.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { ServeProcess } from '../harness/serve-process.ts';
import { postWebhook, signedPush } from '../harness/webhook-payloads.ts';
import { r2 } from './reconcile-fixture.ts';

/**
 * `infra serve` latency and idle cost, on three local clusters and a bare repository:
 *
 * - push → visible: from the start of `git push` (the change committed before) until a ConfigMap carries the pushed value on
 *   all three clusters (read every 20 ms), p50/p95 over N pushes, (a) through a webhook POSTed
 *   when the push returns, (b) through the post-receive hook (`infra hook install`). The
 *   baseline, same run: `git push` then a bare `infra reconcile -f` of the same change (serve
 *   stopped), the way a user without serve applies a push.
 * - idle: a serve of 1,000 apps (one ConfigMap each, on the three clusters) after its first
 *   round: RSS, and CPU (user+system, its own and its waited-for children's: git) over a
 *   bounded window, extrapolated to an hour. Polls every 1 min and drift re-checks every 5 min
 *   (the defaults) fall in the window as they would in the hour.
 */

export interface ServeOptions {
  /** Measure push → visible (false: only the idle part). */
  readonly latency: boolean;
  readonly pushes: number;
  readonly idleSeconds: number;
  readonly idleApps: number;
}

interface Latency {
  readonly runs: readonly number[];
  readonly p50: number;
  readonly p95: number;
}

export interface LatencyFigures {
  readonly pushes: number;
  readonly webhook: Latency;
  readonly hook: Latency;
  readonly bareReconcile: Latency;
  readonly webhookP50OverBare: number;
  readonly hookP50OverBare: number;
}

export interface IdleFigures {
  readonly apps: number;
  readonly clusters: number;
  readonly firstRoundSeconds: number;
  readonly rssMiB: number;
  readonly windowSeconds: number;
  readonly cpuSecondsInWindow: number;
  /** CPU per hour of the stretches with no reconcile job (polls only). */
  readonly quietCpuSecondsPerHour: number;
  /** Reconcile jobs (drift re-checks) that ran in the window, the seconds they spanned and the CPU they took. */
  readonly driftJobs: number;
  readonly driftSeconds: number;
  readonly driftCpuSeconds: number;
  /** quiet rate × the quiet part of an hour + one drift round's CPU × 12 (every 5 min); only when a whole round (≥ apps jobs) was seen. */
  readonly cpuSecondsPerHour?: number;
}

export interface ServeFigures {
  readonly latency?: LatencyFigures;
  readonly idle: IdleFigures;
}

const SECRET = randomBytes(24).toString('hex');
const cm = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  value: "${value}"\n`;

export async function benchServe(options: ServeOptions): Promise<ServeFigures> {
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-serve-'));
  const env = { ...process.env, INFRA_HOME: home };
  const clusters = await Promise.all(['sa', 'sb', 'sc'].map((n) => upLocalCluster(n, { nodes: 1, unsafeNoFsync: true, env })));
  const readers = clusters.map((c) => new KubeClient(c.name, c.kubeconfig));
  const work = await GitFixture.create();
  try {
    const bare = join(home, 'platform.git');
    await work.commit({ 'app/cm.yaml': cm('pushed', 'v0') }, 'first');
    await simpleGit().clone(work.dir, bare, ['--bare']);
    await writeFile(join(home, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    const stack = await writeServeStack(home, 'latency', bare, clusters, [{ name: 'pushed', path: 'app' }]);
    const visible = (value: string) => waitVisible(readers, 'pushed', value);
    // A change is committed first (not timed); the clock starts with `git push`, as a user's would.
    const commit = (value: string) => work.commit({ 'app/cm.yaml': cm('pushed', value) }, value);
    const push = () => promisify(execFile)('git', ['-C', work.dir, 'push', '--quiet', bare, 'HEAD:main'], { env });

    const latency = options.latency ? await measureLatency() : undefined;
    async function measureLatency(): Promise<LatencyFigures> {
    const serve = ServeProcess.start(['-f', stack], env);
    const base = await serve.url();
    await visible('v0');
    const webhook: number[] = [];
    for (let i = 0; i < options.pushes; i++) {
      const sha = await commit(`wh-${i}`);
      const t = performance.now();
      await push();
      const answer = await postWebhook(`${base}/webhooks/generic/platform`, signedPush('generic', { secret: SECRET, url: bare, after: sha, id: randomUUID() }));
      if (answer.status !== 202) throw new Error(`bench: webhook answered ${answer.status}`);
      await visible(`wh-${i}`);
      webhook.push(performance.now() - t);
    }

    const install = await runInfra(['hook', 'install', bare, '--server', base, '-f', stack], env);
    if (install.code !== 0) throw new Error(`bench: hook install failed: ${install.stderr}`);
    const hook: number[] = [];
    for (let i = 0; i < options.pushes; i++) {
      await commit(`hook-${i}`);
      const t = performance.now();
      await push();
      await visible(`hook-${i}`);
      hook.push(performance.now() - t);
    }
    await runInfra(['hook', 'uninstall', bare], env);
    // BENCH_SERVE_LOG=1: serve's own log of the latency runs (queue wait, durations), to see where the time goes.
    if (process.env['BENCH_SERVE_LOG']) process.stderr.write(serve.raw);
    if ((await serve.stop()) !== 0) throw new Error(`bench: serve did not exit 0:\n${serve.raw.slice(-2000)}`);

    const bareRuns: number[] = [];
    for (let i = 0; i < options.pushes; i++) {
      await commit(`rec-${i}`);
      const t = performance.now();
      await push();
      const run = await runInfra(['reconcile', '-f', stack], env);
      if (run.code !== 0) throw new Error(`bench: infra reconcile exited ${run.code}: ${run.stderr}`);
      await visible(`rec-${i}`);
      bareRuns.push(performance.now() - t);
    }
    const of = (xs: number[]): Latency => ({ runs: xs.map((x) => r2(x / 1000)), p50: r2(percentile(xs, 50) / 1000), p95: r2(percentile(xs, 95) / 1000) });
    const w = of(webhook);
    const h = of(hook);
    const b = of(bareRuns);
    return { pushes: options.pushes, webhook: w, hook: h, bareReconcile: b, webhookP50OverBare: r2(w.p50 / b.p50), hookP50OverBare: r2(h.p50 / b.p50) };
    }

    // Idle: 1,000 apps from the same repository, the default poll and drift intervals.
    const apps = Array.from({ length: options.idleApps }, (_, i) => ({ name: `idle-${i}`, path: `idle/${i}` }));
    await work.commit(Object.fromEntries(apps.map((a) => [`${a.path}/cm.yaml`, cm(a.name, 'idle')])), 'idle apps');
    await promisify(execFile)('git', ['-C', work.dir, 'push', '--quiet', bare, 'HEAD:main'], { env });
    const idleStack = await writeServeStack(home, 'idle', bare, clusters, apps, false);
    let t = performance.now();
    const serve = ServeProcess.start(['-f', idleStack], env);
    const base = await serve.url();
    await waitVisible(readers, `idle-${options.idleApps - 1}`, 'idle', 600_000);
    if (!(await waitReady(base))) throw new Error('bench: idle serve never became ready');
    const firstRound = (performance.now() - t) / 1000;
    // Samples every 5 s: a stretch where no job ran is "quiet" (polls only); one where jobs ran is drift.
    const samples: { t: number; cpu: number; jobs: number }[] = [];
    const sample = async () => samples.push({ t: performance.now(), cpu: cpuSeconds(serve.child.pid!), jobs: await jobsTotal(base) });
    await sample();
    t = performance.now();
    while (performance.now() - t < options.idleSeconds * 1000) {
      await new Promise((r) => setTimeout(r, 5000));
      await sample();
    }
    const rss = rssMiB(serve.child.pid!);
    await serve.stop();
    let quietMs = 0;
    let quietCpu = 0;
    let driftMs = 0;
    let driftCpu = 0;
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1]!;
      const b = samples[i]!;
      if (b.jobs === a.jobs) {
        quietMs += b.t - a.t;
        quietCpu += b.cpu - a.cpu;
      } else {
        driftMs += b.t - a.t;
        driftCpu += b.cpu - a.cpu;
      }
    }
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const driftJobs = last.jobs - first.jobs;
    const quietPerHour = quietMs > 0 ? (quietCpu / (quietMs / 1000)) * 3600 : 0;
    const idle: IdleFigures = {
      apps: options.idleApps,
      clusters: clusters.length,
      firstRoundSeconds: r2(firstRound),
      rssMiB: rss,
      windowSeconds: r2((last.t - first.t) / 1000),
      cpuSecondsInWindow: r2(last.cpu - first.cpu),
      quietCpuSecondsPerHour: r2(quietPerHour),
      driftJobs,
      driftSeconds: r2(driftMs / 1000),
      driftCpuSeconds: r2(driftCpu),
      // Per drift round (the window may hold more than one): its seconds D and CPU; an hour has 12 rounds and 3600 − 12·D quiet seconds.
      ...(driftJobs >= options.idleApps ? { cpuSecondsPerHour: r2((quietPerHour / 3600) * (3600 - 12 * (driftMs / 1000) * (options.idleApps / driftJobs)) + 12 * driftCpu * (options.idleApps / driftJobs)) } : {}),
    };
    return { ...(latency ? { latency } : {}), idle };
  } finally {
    for (const r of readers) r.close();
    for (const c of clusters) await downLocalCluster(c.name, { purge: true, env });
    await work.remove();
    await rm(home, { recursive: true, force: true });
  }
}

async function writeServeStack(dir: string, name: string, bare: string, clusters: readonly LocalClusterInfo[], apps: readonly { name: string; path: string }[], quiet = true): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  // The latency stack polls once an hour so only the push under test moves it; the idle one keeps the defaults.
  const timing = quiet ? { interval: '1h', driftInterval: '1h' } : {};
  await writeFile(
    file,
    stringify({
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      metadata: { name: `bench-serve-${name}` },
      clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
      gitops: {
        sources: [{ name: 'platform', url: bare, ...timing, webhook: { secretFile: 'secret' } }],
        apps: apps.map((a) => ({ name: a.name, source: 'platform', path: a.path, timeout: '60s', targets: { clusters: clusters.map((c) => c.name) } })),
      },
    }),
  );
  return file;
}

async function waitVisible(readers: readonly KubeClient[], name: string, value: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const read = (r: KubeClient) => r.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/default/configmaps/${name}`).then((o) => o.data?.['value'], () => undefined);
  while (performance.now() < deadline) {
    if ((await Promise.all(readers.map(read))).every((v) => v === value)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`bench: ${name}=${value} not visible on every cluster within ${timeoutMs} ms`);
}

async function waitReady(base: string): Promise<boolean> {
  for (let i = 0; i < 6000; i++) {
    if ((await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) === 200) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function jobsTotal(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('infra_reconcile_runs_total{')).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** utime + stime + cutime + cstime of a process, in seconds (fields 14–17 of /proc/<pid>/stat, in clock ticks of 100 Hz). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
}

function rssMiB(pid: number): number {
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
}

function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
