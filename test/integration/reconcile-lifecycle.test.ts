import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecord } from '../../reconciler/status/app-record.ts';
import { KubeClient } from '../../clusters/kube-client.ts';
import { clients, testClusters } from '../harness/environment.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** One repo, three clusters: objects added, changed and deleted across commits; foreign objects untouched. */

let repo: GitFixture;
beforeAll(async () => {
  repo = await GitFixture.create();
});
afterAll(() => repo.remove());

const ns = `---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
`;
const cm = (name: string, value: string) => `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: shop
data:
  value: "${value}"
  cluster: \${cluster.name}
`;
const deployment = (replicas: number) => `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: shop
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: shop, image: nginx}]
`;

describe('reconcile across commits', () => {
  const stack = () => stackFor(repo.dir, [{ name: 'shop', path: 'shop', targets: { selector: { matchLabels: {} } } }]);

  it('applies a first commit to every cluster and reports Synced and Healthy', async () => {
    const commit = await repo.commit({ 'shop/ns.yaml': ns, 'shop/config/a.yaml': cm('a', '1'), 'shop/deploy.yaml': deployment(2) });
    const statuses = byCluster(await reconcileOnce(stack()), 'shop');
    for (const cluster of testClusters()) {
      expect(statuses.get(cluster.name)?.error).toBeUndefined();
      expect(statuses.get(cluster.name)).toMatchObject({ revision: commit, sync: 'Synced', health: 'Healthy', objects: 3 });
      const a = await readObject(cluster, 'v1', 'ConfigMap', 'a', 'shop');
      expect((a as { data: Record<string, string> }).data).toEqual({ value: '1', cluster: cluster.name });
    }
  });

  it('adds, changes and deletes objects exactly as the next commit says, and never touches a foreign object', async () => {
    for (const cluster of testClusters()) {
      await clients(cluster).core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'not-ours' }, data: { keep: 'me' } } });
    }
    const commit = await repo.commit({ 'shop/config/a.yaml': null, 'shop/config/b.yaml': cm('b', '2'), 'shop/deploy.yaml': deployment(3) });
    const statuses = byCluster(await reconcileOnce(stack()), 'shop');
    for (const cluster of testClusters()) {
      expect(statuses.get(cluster.name)).toMatchObject({ revision: commit, sync: 'Synced', health: 'Healthy' });
      expect(await readObject(cluster, 'v1', 'ConfigMap', 'a', 'shop')).toBeUndefined();
      expect(await readObject(cluster, 'v1', 'ConfigMap', 'b', 'shop')).toBeDefined();
      expect(((await readObject(cluster, 'apps/v1', 'Deployment', 'shop', 'shop')) as { spec: { replicas: number } }).spec.replicas).toBe(3);
      expect(await readObject(cluster, 'v1', 'ConfigMap', 'not-ours', 'shop')).toBeDefined();
      const client = new KubeClient(cluster.name, cluster.kubeconfig);
      const record = await readRecord(client, 'shop');
      client.close();
      expect(record.inventory.revision).toBe(commit);
      expect(record.inventory.entries.map((e) => e.key).sort()).toEqual(['/ConfigMap/shop/b', '/Namespace//shop', 'apps/Deployment/shop/shop']);
    }
  });

  it('keeps a namespace that still holds objects we do not own when it leaves Git', async () => {
    await repo.commit({ 'shop/ns.yaml': null, 'shop/config': null, 'shop/deploy.yaml': null, 'shop/keep.yaml': cm('last', '3').replace('namespace: shop', 'namespace: default') });
    const statuses = byCluster(await reconcileOnce(stack()), 'shop');
    for (const cluster of testClusters()) {
      expect(statuses.get(cluster.name)?.sync).toBe('Synced');
      expect(await readObject(cluster, 'apps/v1', 'Deployment', 'shop', 'shop')).toBeUndefined();
      expect(await readObject(cluster, 'v1', 'ConfigMap', 'b', 'shop')).toBeUndefined();
      const namespace = await readObject(cluster, 'v1', 'Namespace', 'shop');
      expect(namespace, 'namespace with a foreign ConfigMap must stay').toBeDefined();
      expect((namespace as { metadata: { deletionTimestamp?: string } }).metadata.deletionTimestamp).toBeUndefined();
      expect(await readObject(cluster, 'v1', 'ConfigMap', 'not-ours', 'shop')).toBeDefined();
    }
  });

  it('refuses to prune everything when a render comes back empty', async () => {
    await repo.commit({ 'shop/keep.yaml': null, 'shop/README.md': 'nothing here' });
    const statuses = byCluster(await reconcileOnce(stack()), 'shop');
    for (const cluster of testClusters()) {
      expect(statuses.get(cluster.name)?.error?.reason).toBe('PruneFailed');
      expect(statuses.get(cluster.name)?.error?.message).toMatch(/render is empty/);
      expect(await readObject(cluster, 'v1', 'ConfigMap', 'last', 'default')).toBeDefined();
    }
  });
});
