import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../clusters/wait.ts';
import { testClusters, waitDeploymentAvailable } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { adminRequest } from '../harness/kube-admin.ts';
import { byCluster, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** Health is computed every round from the live objects, even when nothing changed in Git. */

let repo: GitFixture;
const [sick, well] = testClusters() as [TestCluster, TestCluster];
beforeAll(async () => {
  repo = await GitFixture.create();
});
afterAll(async () => {
  await setSchedulable(sick, true);
  repo.remove();
});

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: steady
spec:
  replicas: 2
  selector: {matchLabels: {app: steady}}
  template:
    metadata: {labels: {app: steady}}
    spec:
      containers: [{name: steady, image: nginx}]
`;

interface NodeList {
  items: { metadata: { name: string } }[];
}

async function setSchedulable(cluster: TestCluster, schedulable: boolean): Promise<void> {
  const nodes = await adminRequest<NodeList>(cluster, 'GET', '/api/v1/nodes');
  for (const n of nodes.items) {
    await adminRequest(cluster, 'PATCH', `/api/v1/nodes/${n.metadata.name}`, { spec: { unschedulable: schedulable ? null : true } }, 'application/merge-patch+json');
  }
}

describe('health every round', () => {
  it('a Deployment that lost its available replicas is reported, naming it and why, though nothing changed in Git', async () => {
    await repo.commit({ 'steady/deploy.yaml': deployment });
    const stack = stackFor(repo.dir, [{ name: 'steady', path: 'steady', namespace: 'default', timeout: '3s', targets: { selector: { matchLabels: {} } } }]);
    await reconcileOnce(stack);
    for (const c of [sick, well]) expect(await waitDeploymentAvailable(c, 'default', 'steady')).toBe(true);
    const healthy = byCluster(await reconcileOnce(stack), 'steady');
    expect(healthy.get(sick.name)).toMatchObject({ sync: 'Synced', health: 'Healthy' });

    // Its pods go away and cannot come back: every node of one cluster is cordoned.
    await setSchedulable(sick, false);
    await adminRequest(sick, 'DELETE', '/api/v1/namespaces/default/pods', undefined, undefined, { labelSelector: 'app=steady', gracePeriodSeconds: '0' });
    const lost = await waitFor(
      async () => {
        const d = await adminRequest<{ status?: { availableReplicas?: number } }>(sick, 'GET', '/apis/apps/v1/namespaces/default/deployments/steady');
        return (d.status?.availableReplicas ?? 0) === 0 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(lost).toBe(true);

    const after = byCluster(await reconcileOnce(stack), 'steady');
    expect(after.get(sick.name)).toMatchObject({ sync: 'Synced', health: 'Progressing', error: { reason: 'HealthCheckFailed' } });
    expect(after.get(sick.name)?.unhealthy.join('\n')).toMatch(/^Deployment default\/steady: 0\/2 replicas available/m);
    expect(after.get(well.name)).toMatchObject({ sync: 'Synced', health: 'Healthy' });

    // Back to health once the pods can run again, again with no change in Git.
    await setSchedulable(sick, true);
    expect(await waitDeploymentAvailable(sick, 'default', 'steady')).toBe(true);
    expect(byCluster(await reconcileOnce(stack), 'steady').get(sick.name)).toMatchObject({ sync: 'Synced', health: 'Healthy' });
  });
});
