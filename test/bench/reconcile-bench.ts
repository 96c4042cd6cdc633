import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { KubeClient } from '../../clusters/kube-client.ts';
import { downLocalCluster, upLocalCluster, type LocalClusterInfo } from '../../clusters/local/local-cluster.ts';
import { mapLimit } from '../../reconciler/pool.ts';
import { GitFixture } from '../harness/git-fixture.ts';

/**
 * Reconciler throughput against the raw limit measured in the same run: a bare loop of
 * server-side-apply PATCHes of the same objects at the same concurrency, with the same client.
 * The reconciler runs as the real CLI in a child process, so its peak RSS (VmHWM) is its own.
 */

const APPS = Number(process.env['BENCH_APPS'] ?? '1000');
const PER_APP = 5;
const CONCURRENCY = 16;
const INFRA_BIN = fileURLToPath(new URL('../../cli/bin/infra.js', import.meta.url));

export interface ReconcileFigures {
  readonly apps: number;
  readonly objectsPerCluster: number;
  readonly concurrency: number;
  readonly oneCluster: Round;
  readonly threeClusters?: Round;
}

interface Round {
  readonly applySeconds: number;
  readonly rawSeconds: number;
  readonly ratioToRaw: number;
  /** Raw loop that dry-runs every object before writing any (validate-then-apply floor). */
  readonly rawValidatedSeconds: number;
  readonly ratioToRawValidated: number;
  readonly noopSeconds: number;
  readonly noopWrites: number;
  readonly noopOverApply: number;
  readonly peakRssMiB: number;
}

function objects(app: string, ns: string): Record<string, unknown>[] {
  return Array.from({ length: PER_APP }, (_, j) =>
    j < 3
      ? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${app}-cm-${j}`, namespace: ns }, data: { app, index: String(j), payload: 'x'.repeat(200) } }
      : { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${app}-s-${j}`, namespace: ns }, stringData: { token: `${app}-${j}` } },
  );
}

async function writeRepo(repo: GitFixture, prefix: string, ns: string): Promise<void> {
  const files: Record<string, string> = {};
  for (let i = 0; i < APPS; i++) {
    const app = `${prefix}${i}`;
    files[`${prefix}/${app}/objects.yaml`] = objects(app, ns).map((o) => stringify(o)).join('---\n');
  }
  await repo.commit(files);
}

async function writeStack(dir: string, repo: string, prefix: string, ns: string, clusters: readonly LocalClusterInfo[]): Promise<string> {
  const file = join(dir, `${prefix}stack.yaml`);
  await writeFile(
    file,
    stringify({
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      metadata: { name: 'bench' },
      clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
      gitops: {
        sources: [{ name: 'repo', url: repo, ref: { branch: 'main' } }],
        apps: Array.from({ length: APPS }, (_, i) => ({ name: `${prefix}${i}`, source: 'repo', path: `${prefix}/${prefix}${i}`, namespace: ns, targets: { clusters: clusters.map((c) => c.name) } })),
      },
    }),
  );
  return file;
}

/** Runs `infra reconcile` as a child; returns wall time and peak RSS. */
function runReconcile(stackFile: string, env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakRssMiB: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // Executed as a user runs it (through its shebang, so with its Node flags).
    const path = `${dirname(process.execPath)}:${env['PATH'] ?? ''}`;
    const child = spawn(INFRA_BIN, ['reconcile', '-f', stackFile, '--json'], { env: { ...env, PATH: path }, stdio: ['ignore', 'ignore', 'pipe'] });
    let peakKb = 0;
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    const sample = setInterval(() => {
      try {
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
        peakKb = Math.max(peakKb, hwm);
      } catch {
        // exited
      }
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sample);
      if (code !== 0) reject(new Error(`infra reconcile exited ${code}: ${stderr}`));
      else resolve({ seconds: (performance.now() - started) / 1000, peakRssMiB: Math.round(peakKb / 1024) });
    });
  });
}

/**
 * The raw limit: SSA PATCH every object once, CONCURRENCY in flight per cluster. With
 * `validateFirst`, each object is first sent as a strict dry-run (the request pattern any
 * tool that validates a revision before writing must pay): the protocol's own floor.
 */
async function rawLoop(clusters: readonly LocalClusterInfo[], prefix: string, ns: string, validateFirst = false): Promise<number> {
  const started = performance.now();
  await Promise.all(
    clusters.map(async (c) => {
      const client = new KubeClient(c.name, c.kubeconfig, { maxSockets: CONCURRENCY });
      const all = Array.from({ length: APPS }, (_, i) => objects(`${prefix}${i}`, ns)).flat() as { kind: string; metadata: { name: string } }[];
      const patch = (o: (typeof all)[number], dryRun: boolean) =>
        client.request('PATCH', `/api/v1/namespaces/${ns}/${o.kind === 'ConfigMap' ? 'configmaps' : 'secrets'}/${o.metadata.name}`, {
          body: o,
          contentType: 'application/apply-patch+yaml',
          query: { fieldManager: 'raw-bench', force: 'true', ...(dryRun ? { dryRun: 'All', fieldValidation: 'Strict' } : {}) },
        });
      if (validateFirst) {
        const checked = await mapLimit(all, CONCURRENCY, (o) => patch(o, true));
        const bad = checked.find((r) => r.status === 'rejected');
        if (bad) throw (bad as PromiseRejectedResult).reason;
      }
      const results = await mapLimit(all, CONCURRENCY, (o) => patch(o, false));
      client.close();
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }),
  );
  return (performance.now() - started) / 1000;
}

/** Non-dry-run writes to configmaps and secrets, from the apiserver's own metrics. */
async function writes(clusters: readonly LocalClusterInfo[]): Promise<number> {
  let total = 0;
  for (const c of clusters) {
    const client = new KubeClient(c.name, c.kubeconfig);
    const text = await client.request<string>('GET', '/metrics', { accept: 'text/plain', text: true });
    client.close();
    total += countWrites(text);
  }
  return total;
}

export function countWrites(metrics: string): number {
  let n = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!/verb="(POST|PUT|PATCH|DELETE|APPLY|CREATE|UPDATE)"/.test(line) || !/resource="(configmaps|secrets)"/.test(line)) continue;
    if (/dry_run="All"/.test(line)) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

async function round(clusters: readonly LocalClusterInfo[], repo: GitFixture, dir: string, prefix: string, env: NodeJS.ProcessEnv): Promise<Round> {
  const ns = `${prefix}ns`;
  for (const c of clusters) {
    const client = new KubeClient(c.name, c.kubeconfig);
    for (const n of [ns, `${ns}-raw`, `${ns}-rawv`]) await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } } });
    client.close();
  }
  await writeRepo(repo, prefix, ns);
  const stack = await writeStack(dir, repo.dir, prefix, ns, clusters);
  const rawSeconds = await rawLoop(clusters, prefix, `${ns}-raw`);
  const rawValidatedSeconds = await rawLoop(clusters, prefix, `${ns}-rawv`, true);
  const apply = await runReconcile(stack, env);
  const before = await writes(clusters);
  const noop = await runReconcile(stack, env);
  const noopWrites = (await writes(clusters)) - before;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    applySeconds: r2(apply.seconds),
    rawSeconds: r2(rawSeconds),
    ratioToRaw: r2(rawSeconds / apply.seconds),
    rawValidatedSeconds: r2(rawValidatedSeconds),
    ratioToRawValidated: r2(rawValidatedSeconds / apply.seconds),
    noopSeconds: r2(noop.seconds),
    noopWrites,
    noopOverApply: r2(noop.seconds / apply.seconds),
    peakRssMiB: apply.peakRssMiB,
  };
}

export async function benchReconcile(): Promise<ReconcileFigures> {
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-rec-'));
  const env = { ...process.env, INFRA_HOME: home };
  const repo = await GitFixture.create();
  const clusters = await Promise.all(['ra', 'rb', 'rc'].map((n) => upLocalCluster(n, { nodes: 1, unsafeNoFsync: true, env })));
  try {
    const oneCluster = await round([clusters[0] as LocalClusterInfo], repo, home, 'o', env);
    // BENCH_ONE_CLUSTER=1 measures only the one-cluster round (quicker, for profiling).
    if (process.env['BENCH_ONE_CLUSTER']) return { apps: APPS, objectsPerCluster: APPS * PER_APP, concurrency: CONCURRENCY, oneCluster };
    const threeClusters = await round(clusters, repo, home, 't', env);
    return { apps: APPS, objectsPerCluster: APPS * PER_APP, concurrency: CONCURRENCY, oneCluster, threeClusters };
  } finally {
    for (const c of clusters) await downLocalCluster(c.name, { purge: true, env });
    await repo.remove();
    await rm(home, { recursive: true, force: true });
  }
}
