import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { apiStatus } from '../connection.ts';
import { KWOK_NODE_ANNOTATION } from './control-plane.ts';

export const LOCAL_CLUSTER_LABEL = 'infra.dev/local-cluster';

export function fakeNodeName(index: number): string {
  return `kwok-node-${index}`;
}

/** The Node object kwok plays the kubelet for. Pure. */
export function fakeNode(cluster: string, index: number): V1Node {
  const name = fakeNodeName(index);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
        [LOCAL_CLUSTER_LABEL]: cluster,
      },
    },
  };
}

/** Creates the missing fake nodes and deletes the ones beyond `count`. */
export async function ensureFakeNodes(kc: KubeConfig, cluster: string, count: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const existing = await core.listNode({ labelSelector: LOCAL_CLUSTER_LABEL });
  const have = new Set(existing.items.map((n) => n.metadata?.name));
  const want = new Set(Array.from({ length: count }, (_, i) => fakeNodeName(i)));
  for (let i = 0; i < count; i++) {
    if (have.has(fakeNodeName(i))) continue;
    try {
      await core.createNode({ body: fakeNode(cluster, i) });
    } catch (err) {
      if (apiStatus(err) !== 409) throw err;
    }
  }
  for (const name of have) {
    if (name && !want.has(name)) await core.deleteNode({ name });
  }
}

/** Number of fake nodes whose Ready condition is True. */
export async function readyFakeNodes(kc: KubeConfig): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  const nodes = await core.listNode({ labelSelector: LOCAL_CLUSTER_LABEL });
  return nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

/**
 * Deletes the node Leases a previous kwok held. A new kwok process has a new holder identity
 * and would leave the nodes unmanaged (pods stuck Pending) until the old leases expire; the
 * old kwok is known dead when we start a new one, so its leases go, and the new kwok takes
 * the nodes at once.
 */
export async function releaseNodeLeases(kc: KubeConfig): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const leases = kc.makeApiClient(CoordinationV1Api);
  const nodes = await core.listNode({ labelSelector: LOCAL_CLUSTER_LABEL });
  for (const node of nodes.items) {
    const name = node.metadata?.name;
    if (!name) continue;
    try {
      await leases.deleteNamespacedLease({ name, namespace: 'kube-node-lease' });
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
    }
  }
}
