import { describe, expect, it } from 'vitest';
import { apiserverRunning, clients, killApiserver, restartCluster, testClusters, waitDeploymentAvailable } from '../harness/environment.ts';

/**
 * One apiserver crashing affects only its own cluster, and its data survives the restart
 * (it lives in etcd, which kept running). Later issues test failover on this.
 */
describe('an apiserver crash', () => {
  it('leaves the other clusters working and loses no data after restart', async () => {
    const [victim, ...others] = testClusters();
    if (!victim) throw new Error('the harness started no clusters');
    const marker = `crash-${Date.now()}`;
    await clients(victim).core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: marker }, data: { before: 'crash' } },
    });

    await killApiserver(victim);
    expect(apiserverRunning(victim)).toBe(false);
    await expect(clients(victim).core.listNamespace()).rejects.toThrow();

    for (const cluster of others) {
      const body = { metadata: { name: marker }, data: { while: `${victim.name} is down` } };
      await clients(cluster).core.createNamespacedConfigMap({ namespace: 'default', body });
      const read = await clients(cluster).core.readNamespacedConfigMap({ name: marker, namespace: 'default' });
      expect(read.data?.['while']).toBe(`${victim.name} is down`);
    }

    await restartCluster(victim);
    expect(apiserverRunning(victim)).toBe(true);
    const survived = await clients(victim).core.readNamespacedConfigMap({ name: marker, namespace: 'default' });
    expect(survived.data).toEqual({ before: 'crash' });
  });
});

describe('repeated apiserver crashes', () => {
  it('leave controllers, scheduler and kwok working: a new Deployment is Available promptly after each restart', async () => {
    const [, cluster] = testClusters();
    if (!cluster) throw new Error('the harness started too few clusters');
    for (let round = 0; round < 5; round++) {
      await killApiserver(cluster);
      await restartCluster(cluster);
      const name = `after-crash-${round}-${Date.now()}`;
      await clients(cluster).apps.createNamespacedDeployment({
        namespace: 'default',
        body: {
          metadata: { name },
          spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
        },
      });
      expect(await waitDeploymentAvailable(cluster, 'default', name, 8_000), `round ${round}`).toBe(true);
    }
  });
});
