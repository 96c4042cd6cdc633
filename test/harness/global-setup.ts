import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { downLocalCluster, listLocalClusters, upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { cacheDir } from '../../clusters/host/paths.ts';
import type { TestEnvironment } from './environment-spec.ts';

/**
 * Starts the integration environment once per run: N real local clusters (etcd,
 * kube-apiserver, controller-manager, scheduler, kwok nodes), side by side. Leftovers of a
 * run that was killed are purged first, so every run starts clean and nothing is orphaned.
 * INFRA_TEST_CLUSTERS sets N (default 3).
 *
 * Projects that need the clusters (integration, browser) share one set in a run: vitest runs every
 * project's global setup in the same process, so the first starts the clusters and the others
 * reuse them; the last teardown stops them.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  return sharedClusters(project);
}

interface SharedClusters {
  readonly ready: Promise<{ environment: TestEnvironment; teardown: () => Promise<void> }>;
  users: number;
}
const shared = globalThis as { infraTestClusters?: Map<string, SharedClusters> };

async function sharedClusters(project: TestProject): Promise<() => Promise<void>> {
  const infraHome = process.env['INFRA_TEST_HOME'] ?? join(cacheDir(), 'test-home');
  const all = (shared.infraTestClusters ??= new Map());
  let entry = all.get(infraHome);
  if (!entry) {
    entry = { ready: startClusters(infraHome), users: 0 };
    all.set(infraHome, entry);
  }
  entry.users++;
  const { environment, teardown } = await entry.ready;
  project.provide('testEnvironment', environment);
  const used = entry;
  return async () => {
    if (--used.users > 0) return;
    all.delete(infraHome);
    await teardown();
  };
}

async function startClusters(infraHome: string): Promise<{ environment: TestEnvironment; teardown: () => Promise<void> }> {
  const env = { ...process.env, INFRA_HOME: infraHome };
  const count = Number(process.env['INFRA_TEST_CLUSTERS'] ?? '3');
  const names = Array.from({ length: count }, (_, i) => `test-${i + 1}`);

  for (const stale of await listLocalClusters(env)) await downLocalCluster(stale.name, { purge: true, env });
  await rm(join(infraHome, 'cache'), { recursive: true, force: true });

  const progress = (line: string) => process.stderr.write(`[harness] ${line}\n`);
  const started = Date.now();
  // Binaries first (a cold machine builds them once), then the clusters in parallel.
  const first = await upLocalCluster(names[0] ?? 'test-1', { nodes: 2, unsafeNoFsync: true, env, progress });
  const rest = await Promise.all(names.slice(1).map((name) => upLocalCluster(name, { nodes: 2, unsafeNoFsync: true, env })));
  progress(`${names.length} local cluster(s) up in ${((Date.now() - started) / 1000).toFixed(1)}s`);

  const environment: TestEnvironment = {
    infraHome,
    clusters: [first, ...rest].map((c) => ({ name: c.name, server: c.server, kubeconfig: c.kubeconfig })),
  };
  const teardown = async () => {
    for (const name of names) await downLocalCluster(name, { purge: true, env });
    await rm(join(infraHome, 'cache'), { recursive: true, force: true });
  };
  return { environment, teardown };
}
