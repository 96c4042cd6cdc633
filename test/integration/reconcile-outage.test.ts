import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { readRecord } from '../../reconciler/status/app-record.ts';
import { clients, killApiserver, restartCluster, testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** A cluster's apiserver killed mid-reconcile: the others finish, the dead one is retried and converges after restart. */

let repo: GitFixture;
beforeAll(async () => {
  repo = await GitFixture.create();
});
afterAll(() => repo.remove());

const COUNT = 60;

async function recordOf(cluster: TestCluster) {
  const client = new KubeClient(cluster.name, cluster.kubeconfig);
  try {
    return await readRecord(client, 'outage');
  } finally {
    client.close();
  }
}

describe('an apiserver dying mid-reconcile', () => {
  it('does not hold back the other clusters, and converges without duplicates once it is back', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < COUNT; i++) files[`outage/cm-${i}.yaml`] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outage-${i}\ndata:\n  i: "${i}"\n`;
    const commit = await repo.commit(files);
    const [first, second, victim] = testClusters() as [TestCluster, TestCluster, TestCluster];
    const stack = stackFor(repo.dir, [{ name: 'outage', path: 'outage', namespace: 'default', targets: { selector: { matchLabels: {} } } }]);

    let killed: Promise<void> | undefined;
    const fast = { baseMs: 100, maxMs: 1_000, now: Date.now, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), random: () => 1 };
    const running = reconcileOnce(stack, {
      backoff: fast,
      retryForMs: 120_000,
      concurrency: 4,
      progress: () => {
        killed ??= killApiserver(victim);
      },
    });
    let settled = false;
    void running.finally(() => (settled = true));

    const othersDone = await waitFor(
      async () => {
        const records = await Promise.all([first, second].map(recordOf));
        return records.every((r) => r.status?.revision === commit && r.status.sync === 'Synced') ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(othersDone).toBe(true);
    expect(killed).toBeDefined();
    await killed;
    expect(settled, 'the round waits for the dead cluster, retrying').toBe(false);

    await restartCluster(victim);
    const statuses = byCluster(await running, 'outage');
    expect(statuses.get(victim.name)).toMatchObject({ sync: 'Synced', revision: commit, objects: COUNT });

    for (const cluster of testClusters()) {
      const list = await clients(cluster).core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'infra.dev/app=outage' });
      expect(list.items).toHaveLength(COUNT);
      const record = await recordOf(cluster);
      expect(record.inventory.revision).toBe(commit);
      expect(new Set(record.inventory.entries.map((e) => e.key)).size).toBe(COUNT);
    }
  });
});
