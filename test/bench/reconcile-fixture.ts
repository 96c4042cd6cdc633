import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { KubeClient } from '../../clusters/kube-client.ts';
import type { LocalClusterInfo } from '../../clusters/local/local-cluster.ts';
import { mapLimit } from '../../reconciler/pool.ts';
import type { GitFixture } from '../harness/git-fixture.ts';

/**
 * What the reconcile benches share: the apps (5 objects each: 3 ConfigMaps, 2 Secrets), the
 * raw SSA loop that is their baseline, the CLI run as a child (its peak RSS is its own), and
 * the write counter that reads the apiservers' own metrics.
 */

export const PER_APP = 5;
export const CONCURRENCY = 16;
/** This checkout's CLI. */
export const INFRA_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function objects(app: string, ns: string): Record<string, unknown>[] {
  return Array.from({ length: PER_APP }, (_, j) =>
    j < 3
      ? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${app}-cm-${j}`, namespace: ns }, data: { app, index: String(j), payload: 'x'.repeat(200) } }
      : { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${app}-s-${j}`, namespace: ns }, stringData: { token: `${app}-${j}` } },
  );
}

/** Commits `apps` app folders under `prefix/`, one YAML file of 5 objects each. */
export async function writeRepo(repo: GitFixture, prefix: string, ns: string, apps: number): Promise<void> {
  const files: Record<string, string> = {};
  for (let i = 0; i < apps; i++) {
    const app = `${prefix}${i}`;
    files[`${prefix}/${app}/objects.yaml`] = objects(app, ns).map((o) => stringify(o)).join('---\n');
  }
  await repo.commit(files);
}

export async function writeStack(dir: string, repo: string, prefix: string, ns: string, clusters: readonly LocalClusterInfo[], apps: number): Promise<string> {
  const file = join(dir, `${prefix}stack.yaml`);
  await writeFile(
    file,
    stringify({
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      // A stack per copy of the apps: a round removes the apps its own stack left, never another's.
      metadata: { name: `bench-${prefix}` },
      clusters: clusters.map((c) => ({ name: c.name, kubeconfig: c.kubeconfig })),
      gitops: {
        sources: [{ name: 'repo', url: repo, ref: { branch: 'main' } }],
        apps: Array.from({ length: apps }, (_, i) => ({ name: `${prefix}${i}`, source: 'repo', path: `${prefix}/${prefix}${i}`, namespace: ns, targets: { clusters: clusters.map((c) => c.name) } })),
      },
    }),
  );
  return file;
}

export interface CliRun {
  readonly seconds: number;
  readonly peakRssMiB: number;
}

/**
 * Runs `infra reconcile` of `root` (this checkout, or a previous version for an A/B in the same
 * run) as a child with Node and no V8 flags at all: memory must stay bounded by design, not by
 * a heap cap. Returns wall time and peak RSS (VmHWM). BENCH_NODE_ARGS adds Node flags for
 * profiling (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
export function runReconcile(root: string, stackFile: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), join(root, 'cli/bin/infra.js'), 'reconcile', '-f', stackFile, '--json'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
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
      if (code !== 0) reject(new Error(`infra reconcile (${root}) exited ${code}: ${stderr}`));
      else resolve({ seconds: (performance.now() - started) / 1000, peakRssMiB: Math.round(peakKb / 1024) });
    });
  });
}

/**
 * The raw limit: SSA PATCH every object once, CONCURRENCY in flight per cluster. With
 * `validateFirst`, each object is first sent as a strict dry-run (the request pattern any
 * tool that validates a revision before writing must pay): the protocol's own floor.
 */
export async function rawLoop(clusters: readonly LocalClusterInfo[], prefix: string, ns: string, apps: number, validateFirst = false): Promise<number> {
  const started = performance.now();
  await Promise.all(
    clusters.map(async (c) => {
      const client = new KubeClient(c.name, c.kubeconfig, { maxSockets: CONCURRENCY });
      const indices = Array.from({ length: apps }, (_, i) => i);
      // Objects are made as the loop goes, so the loop's own memory does not grow with the size.
      const each = async (i: number, dryRun: boolean) => {
        for (const o of objects(`${prefix}${i}`, ns) as { kind: string; metadata: { name: string } }[]) {
          await client.request('PATCH', `/api/v1/namespaces/${ns}/${o.kind === 'ConfigMap' ? 'configmaps' : 'secrets'}/${o.metadata.name}`, {
            body: o,
            contentType: 'application/apply-patch+yaml',
            query: { fieldManager: 'raw-bench', force: 'true', ...(dryRun ? { dryRun: 'All', fieldValidation: 'Strict' } : {}) },
          });
        }
      };
      try {
        if (validateFirst) throwFirst(await mapLimit(indices, CONCURRENCY, (i) => each(i, true)));
        throwFirst(await mapLimit(indices, CONCURRENCY, (i) => each(i, false)));
      } finally {
        client.close();
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

function throwFirst(results: readonly PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

export async function createNamespaces(clusters: readonly LocalClusterInfo[], names: readonly string[]): Promise<void> {
  for (const c of clusters) {
    const client = new KubeClient(c.name, c.kubeconfig);
    try {
      for (const n of names) await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } } });
    } finally {
      client.close();
    }
  }
}

export interface RequestCounts {
  /** Non-dry-run writes to configmaps and secrets. */
  readonly writes: number;
  /** Dry-run writes (validations) to configmaps and secrets. */
  readonly dryRuns: number;
}

/** Requests to configmaps and secrets so far, from the apiservers' own metrics. */
export async function requestCounts(clusters: readonly LocalClusterInfo[]): Promise<RequestCounts> {
  let writes = 0;
  let dryRuns = 0;
  for (const c of clusters) {
    const client = new KubeClient(c.name, c.kubeconfig);
    try {
      const n = countRequests(await client.request<string>('GET', '/metrics', { accept: 'text/plain', text: true }));
      writes += n.writes;
      dryRuns += n.dryRuns;
    } finally {
      client.close();
    }
  }
  return { writes, dryRuns };
}

export function countRequests(metrics: string): RequestCounts {
  let writes = 0;
  let dryRuns = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!/verb="(POST|PUT|PATCH|DELETE|APPLY|CREATE|UPDATE)"/.test(line) || !/resource="(configmaps|secrets)"/.test(line)) continue;
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (/dry_run="All"/.test(line)) dryRuns += n;
    else writes += n;
  }
  return { writes, dryRuns };
}

/** Runs the CLI twice on `stack`: the first apply, then a no-op round whose requests are counted. */
export async function applyThenNoop(root: string, clusters: readonly LocalClusterInfo[], stack: string, env: NodeJS.ProcessEnv) {
  const apply = await runReconcile(root, stack, env);
  const before = await requestCounts(clusters);
  const noop = await runReconcile(root, stack, env);
  const after = await requestCounts(clusters);
  return { apply, noop, noopWrites: after.writes - before.writes, noopDryRuns: after.dryRuns - before.dryRuns };
}

export const r2 = (x: number): number => Math.round(x * 100) / 100;
