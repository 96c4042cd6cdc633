import { basename } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { parseStack, type StackSpec } from '../../stacks/load.ts';
import { testClusters } from './environment.ts';

/** A stack over the harness clusters, with one source and the given apps (health waits 30s, so a failure reports its reason before the test times out). */
export function stackFor(repo: string, apps: readonly Record<string, unknown>[], labels: Readonly<Record<string, Record<string, string>>> = {}): StackSpec {
  const text = stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: stackName() },
    clusters: testClusters().map((c, i) => ({ name: c.name, kubeconfig: c.kubeconfig, labels: labels[c.name] ?? { index: String(i) } })),
    gitops: { sources: [{ name: 'repo', url: repo, ref: { branch: 'main' } }], apps: apps.map((a) => ({ source: 'repo', timeout: '30s', ...a })) },
  });
  return parseStack('test-stack.yaml', text);
}

/**
 * One stack name per test file: a round prunes the apps its stack no longer lists, so files
 * (which share the clusters) must not see each other's apps as removed.
 */
function stackName(): string {
  const file = expect.getState().testPath;
  const name = file ? basename(file).replace(/\.test\.ts$/, '').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 50) : 'test';
  return name.replace(/^-+|-+$/g, '') || 'test';
}
