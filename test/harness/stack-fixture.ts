import { stringify } from 'yaml';
import { parseStack, type StackSpec } from '../../stacks/load.ts';
import { testClusters } from './environment.ts';

/** A stack over the harness clusters, with one source and the given apps. */
export function stackFor(repo: string, apps: readonly Record<string, unknown>[], labels: Readonly<Record<string, Record<string, string>>> = {}): StackSpec {
  const text = stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'test' },
    clusters: testClusters().map((c, i) => ({ name: c.name, kubeconfig: c.kubeconfig, labels: labels[c.name] ?? { index: String(i) } })),
    gitops: { sources: [{ name: 'repo', url: repo, ref: { branch: 'main' } }], apps: apps.map((a) => ({ source: 'repo', ...a })) },
  });
  return parseStack('test-stack.yaml', text);
}
