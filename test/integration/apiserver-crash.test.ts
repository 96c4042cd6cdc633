import { describe, expect, it } from 'vitest';
import { apiserverRunning, clients, killApiserver, restartCluster, testClusters } from '../harness/environment.ts';

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
