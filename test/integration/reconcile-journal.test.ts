import { Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { readRecord, SYSTEM_NAMESPACE } from '../../reconciler/status/app-record.ts';
import { JOURNAL_NAME, readJournal } from '../../reconciler/status/journal-store.ts';
import { clients, testClusters } from '../harness/environment.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/**
 * The intent journal: objects are noted before they are created (many apps per journal write),
 * so a round cut short after its first writes leaves every object it created tracked, and the
 * next round prunes what left Git. A finished round leaves the journal empty.
 */

let repo: GitFixture;
beforeAll(async () => {
  repo = await GitFixture.create();
});
afterAll(() => repo.remove());

const cm = (name: string, ns: string) => `---
apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${ns}}
data: {value: "${name}"}
`;
// Its pods can never be scheduled (no node has the label), so the sync waits in its health
// check, after every object was written and before the record is: the window a crash hits.
const stuck = (ns: string) => `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {infra.dev/test: nowhere}
      containers: [{name: stuck, image: nginx}]
`;

async function listOwned(client: KubeClient, ns: string, app: string): Promise<string[]> {
  const list = await client.request<{ items: { metadata: { name: string } }[] }>('GET', `/api/v1/namespaces/${ns}/configmaps`, { query: { labelSelector: `infra.dev/app=${app}` } });
  return list.items.map((i) => i.metadata.name).sort();
}

describe('intent journal', () => {
  it('a round cut short after its first writes leaves what it created tracked; the next round prunes what left Git and empties the journal', async () => {
    const cluster = testClusters()[0]!;
    const client = new KubeClient(cluster.name, cluster.kubeconfig);
    try {
      const ns = `---\napiVersion: v1\nkind: Namespace\nmetadata: {name: jrn}\n`;
      const files: Record<string, string> = { 'jrn/ns.yaml': ns, 'jrn/deploy.yaml': stuck('jrn') };
      for (let i = 0; i < 12; i++) files[`jrn/cm-${i}.yaml`] = cm(`c${i}`, 'jrn');
      await repo.commit(files);
      const stack = stackFor(repo.dir, [{ name: 'jrn', path: 'jrn', targets: { clusters: [cluster.name] } }]);

      const abort = new AbortController();
      const round = reconcileOnce(stack, { signal: abort.signal }).then(
        () => 'finished',
        (err: unknown) => ((err as Error).name === 'AbortError' ? 'aborted' : Promise.reject(err)),
      );
      // Cut the round short once its objects exist (it then waits for the Deployment's health).
      const created = await waitFor(async () => ((await listOwned(client, 'jrn', 'jrn')).length === 12 ? true : undefined), { timeoutMs: 60_000, intervalMs: 50 });
      expect(created).toBe(true);
      abort.abort();
      expect(await round).toBe('aborted');

      // Nothing was recorded for the app, yet the journal tracks every object it created.
      expect((await readRecord(client, 'jrn')).inventory.entries).toEqual([]);
      const noted = new Set(((await readJournal(client)).get('jrn') ?? []).map((p) => p.key));
      for (const name of await listOwned(client, 'jrn', 'jrn')) expect(noted.has(`/ConfigMap/jrn/${name}`)).toBe(true);
      expect(noted.has('apps/Deployment/jrn/stuck')).toBe(true);

      // Git drops all but one ConfigMap and the Deployment: the next round prunes them.
      const next: Record<string, string | null> = { 'jrn/deploy.yaml': null };
      for (let i = 1; i < 12; i++) next[`jrn/cm-${i}.yaml`] = null;
      await repo.commit(next);
      const status = byCluster(await reconcileOnce(stack), 'jrn').get(cluster.name);
      expect(status).toMatchObject({ sync: 'Synced', health: 'Healthy', objects: 2 });
      expect(await listOwned(client, 'jrn', 'jrn')).toEqual(['c0']);
      expect((await readJournal(client)).has('jrn')).toBe(false);
      expect((await readRecord(client, 'jrn')).inventory.entries.map((e) => e.key).sort()).toEqual(['/ConfigMap/jrn/c0', '/Namespace//jrn']);
    } finally {
      client.close();
    }
  });

  it('notes many apps in far fewer journal writes than apps, and a no-op round writes no journal', async () => {
    const cluster = testClusters()[0]!;
    const files: Record<string, string> = {};
    const apps = 24;
    for (let i = 0; i < apps; i++) files[`many/a${i}/cm.yaml`] = cm(`a${i}`, 'default') + cm(`a${i}-b`, 'default');
    await repo.commit(files);
    const stack = stackFor(
      repo.dir,
      Array.from({ length: apps }, (_, i) => ({ name: `many-${i}`, path: `many/a${i}`, targets: { clusters: [cluster.name] } })),
    );
    const writes = await countJournalWrites(cluster, async () => {
      const statuses = await reconcileOnce(stack);
      expect(statuses.filter((s) => s.sync !== 'Synced')).toEqual([]);
    });
    // Without the journal, each app widens its own record before its first write: 24 writes.
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(apps / 2);
    const client = new KubeClient(cluster.name, cluster.kubeconfig);
    try {
      expect([...(await readJournal(client)).keys()].filter((k) => k.startsWith('many-'))).toEqual([]);
    } finally {
      client.close();
    }
    expect(await countJournalWrites(cluster, async () => void (await reconcileOnce(stack)))).toBe(0);
  });
});

/** Writes to the journal ConfigMap while `fn` runs, seen through a watch. */
async function countJournalWrites(cluster: ReturnType<typeof testClusters>[number], fn: () => Promise<void>): Promise<number> {
  const client = new KubeClient(cluster.name, cluster.kubeconfig);
  const current = await client
    .request<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps/${JOURNAL_NAME}`)
    .then((cm) => cm.metadata.resourceVersion)
    .catch(() => undefined);
  const list = await client.request<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps`, { query: { limit: '1' } });
  client.close();
  let writes = 0;
  let last = current;
  const watch = new Watch(clients(cluster).kc);
  const req = await watch.watch(
    `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps`,
    { fieldSelector: `metadata.name=${JOURNAL_NAME}`, resourceVersion: list.metadata.resourceVersion },
    (type: string, obj: { metadata: { resourceVersion: string } }) => {
      if ((type === 'ADDED' || type === 'MODIFIED') && obj.metadata.resourceVersion !== last) {
        writes++;
        last = obj.metadata.resourceVersion;
      }
    },
    () => undefined,
  );
  try {
    await fn();
    // The watch trails the writes a little: wait until it has seen the journal as it is now.
    const probe = new KubeClient(cluster.name, cluster.kubeconfig);
    const now = await probe
      .request<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps/${JOURNAL_NAME}`)
      .then((cm) => cm.metadata.resourceVersion)
      .catch(() => undefined);
    probe.close();
    await waitFor(async () => (last === now ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    return writes;
  } finally {
    req.abort();
  }
}
