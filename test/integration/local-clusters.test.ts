import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { clients, testClusters, waitDeploymentAvailable } from '../harness/environment.ts';

/** Every cluster of the environment is a real, working Kubernetes: nodes, apply, controllers. */

const NAMESPACE = 'default';

function webDeployment(name: string, replicas: number): KubernetesObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    },
  } as KubernetesObject;
}

describe('local clusters from the harness', () => {
  it('runs three clusters side by side on distinct servers', () => {
    const clusters = testClusters();
    expect(clusters).toHaveLength(3);
    expect(new Set(clusters.map((c) => c.server)).size).toBe(3);
  });

  it.each(testClusters().map((c) => [c.name, c] as const))('%s lists namespaces and has Ready nodes', async (_name, cluster) => {
    const { core } = clients(cluster);
    const namespaces = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(namespaces).toEqual(expect.arrayContaining(['default', 'kube-system']));
    const nodes = (await core.listNode()).items;
    expect(nodes.length).toBe(2);
    for (const node of nodes) {
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('server-side applies a ConfigMap and a Deployment to each cluster; the Deployments become Available', async () => {
    await Promise.all(
      testClusters().map(async (cluster) => {
        const api = KubernetesObjectApi.makeApiClient(clients(cluster).kc);
        const configMap = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'greeting', namespace: NAMESPACE },
          data: { cluster: cluster.name },
        } as KubernetesObject;
        for (const obj of [configMap, webDeployment('web', 2)]) {
          await api.patch(obj, undefined, undefined, 'infra-test', true, PatchStrategy.ServerSideApply);
        }
      }),
    );
    for (const cluster of testClusters()) {
      expect(await waitDeploymentAvailable(cluster, NAMESPACE, 'web')).toBe(true);
      const cm = await clients(cluster).core.readNamespacedConfigMap({ name: 'greeting', namespace: NAMESPACE });
      expect(cm.data).toEqual({ cluster: cluster.name });
      const pods = await clients(cluster).core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=web' });
      expect(pods.items.filter((p) => p.status?.phase === 'Running')).toHaveLength(2);
    }
  });
});
