import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { adminRequest } from '../harness/kube-admin.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** createNamespace: true creates the namespaces an app uses but does not ship; without it the error says so. */

let repo: GitFixture;
const clusters = testClusters() as readonly TestCluster[];
beforeAll(async () => {
  repo = await GitFixture.create();
});
afterAll(() => repo.remove());

const cm = (name: string, namespace: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  v: "1"\n`;
const app = (extra: Record<string, unknown> = {}) => ({ name: 'ns-user', path: 'ns-user', targets: { selector: { matchLabels: {} } }, ...extra });

describe('namespaces an app uses but does not contain', () => {
  it('fail validation with a hint that names createNamespace', async () => {
    await repo.commit({ 'ns-user/cm.yaml': cm('made', 'made-for-me'), 'ns-user/default.yaml': cm('ns-user-default', 'default') });
    const statuses = byCluster(await reconcileOnce(stackFor(repo.dir, [app()])), 'ns-user');
    for (const c of clusters) {
      expect(statuses.get(c.name)).toMatchObject({ sync: 'Failed', error: { reason: 'ValidationFailed' } });
      expect(statuses.get(c.name)?.error?.where).toMatch(/ns-user\/cm\.yaml:1/);
      expect(statuses.get(c.name)?.error?.message).toMatch(/namespace "made-for-me" does not exist.*createNamespace: true on app "ns-user"/);
    }
  });

  it('are created with createNamespace: true, never taken over when they exist, and a repeat round writes nothing', async () => {
    const stack = stackFor(repo.dir, [app({ createNamespace: true })]);
    const statuses = byCluster(await reconcileOnce(stack), 'ns-user');
    for (const c of clusters) {
      expect(statuses.get(c.name)?.error).toBeUndefined();
      expect(statuses.get(c.name)).toMatchObject({ sync: 'Synced', health: 'Healthy' });
      const ns = (await readObject(c, 'v1', 'Namespace', 'made-for-me')) as { metadata: { labels?: Record<string, string> } } | undefined;
      expect(ns?.metadata.labels?.['infra.dev/app']).toBe('ns-user');
      expect(await readObject(c, 'v1', 'ConfigMap', 'made', 'made-for-me')).toBeDefined();
      const def = (await readObject(c, 'v1', 'Namespace', 'default')) as { metadata: { labels?: Record<string, string> } };
      expect(def.metadata.labels?.['infra.dev/app'], 'an existing namespace is not claimed').toBeUndefined();
    }
    const rv = await adminRequest<{ metadata: { resourceVersion: string } }>(clusters[0] as TestCluster, 'GET', '/api/v1/namespaces/infra-system/configmaps/infra-app-ns-user');
    await reconcileOnce(stack);
    const again = await adminRequest<{ metadata: { resourceVersion: string } }>(clusters[0] as TestCluster, 'GET', '/api/v1/namespaces/infra-system/configmaps/infra-app-ns-user');
    expect(again.metadata.resourceVersion).toBe(rv.metadata.resourceVersion);
  });
});
