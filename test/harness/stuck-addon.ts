import { builtinAppSpec, type BuiltinApp } from '../../reconciler/builtin-apps.ts';

/**
 * An add-on (`addon-stuck`) that applies but never becomes Healthy: its Deployment's Pod selects
 * a node label no node has. Its timeout is 2s, so a round reports it Progressing at once.
 */
export function stuckAddon(cluster: string, deployment: string): BuiltinApp {
  return {
    spec: { ...builtinAppSpec('addon-stuck', [cluster]), timeoutMs: 2_000 },
    revision: 'stuck-1',
    manifests: () => [
      {
        origin: { file: 'addon stuck' },
        object: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: deployment, namespace: 'default' },
          spec: { replicas: 1, selector: { matchLabels: { app: 'stuck' } }, template: { metadata: { labels: { app: 'stuck' } }, spec: { nodeSelector: { 'no-such-node': 'x' }, containers: [{ name: 'c', image: 'stuck:1' }] } } },
        },
      },
    ],
  };
}
