import { stringify } from 'yaml';
import { parseStack, type StackSpec } from '../../stacks/load.ts';
import { testClusters } from './environment.ts';

/** A stack over the harness clusters, with one source and the given apps (health waits 30s, so a failure reports its reason before the test times out). */
export function stackFor(repo: string, apps: readonly Record<string, unknown>[], labels: Readonly<Record<string, Record<string, string>>> = {}): StackSpec {
  const text = stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'test' },
    clusters: testClusters().map((c, i) => ({ name: c.name, kubeconfig: c.kubeconfig, labels: labels[c.name] ?? { index: String(i) } })),
    gitops: { sources: [{ name: 'repo', url: repo, ref: { branch: 'main' } }], apps: apps.map((a) => ({ source: 'repo', timeout: '30s', ...a })) },
  });
  return parseStack('test-stack.yaml', text);
}
