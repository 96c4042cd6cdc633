import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../clusters/kube-client.ts';
import { listRecords, readRecord } from '../../reconciler/status/app-record.ts';
import type { StackSpec } from '../../stacks/load.ts';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { applyAs, deleteIfPresent, limitedKubeconfig } from '../harness/kube-admin.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** Apps removed from the stack are pruned (or orphaned); a prune that does not finish is reported and retried. */

let repo: GitFixture;
let dir: string;
const [first, second] = testClusters() as [TestCluster, TestCluster];
const APISERVICE = '/apis/apiregistration.k8s.io/v1/apiservices/v1.stuck.infra-test.dev';
beforeAll(async () => {
  repo = await GitFixture.create();
  dir = mkdtempSync(join(tmpdir(), 'infra-removal-'));
});
afterAll(async () => {
  await deleteIfPresent(first, APISERVICE);
  repo.remove();
  rmSync(dir, { recursive: true, force: true });
});

const everywhere = { selector: { matchLabels: {} } };
const cm = (name: string, namespace = 'default') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  v: "1"\n`;
const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
const withOrphan = (stack: StackSpec, orphan: string[]): StackSpec => ({ ...stack, gitops: { ...stack.gitops, orphan } });
const withKubeconfig = (stack: StackSpec, cluster: string, kubeconfig: string): StackSpec => ({ ...stack, clusters: stack.clusters.map((c) => (c.name === cluster ? { ...c, kubeconfig } : c)) });

async function records(cluster: TestCluster) {
  const client = new KubeClient(cluster.name, cluster.kubeconfig);
  try {
    return new Map((await listRecords(client)).map((r) => [r.status?.app ?? '', r]));
  } finally {
    client.close();
  }
}

describe('an app removed from the stack', () => {
  it('has its objects and record pruned, unless the stack orphans it', async () => {
    await repo.commit({ 'stay/cm.yaml': cm('stay-cm'), 'drop/cm.yaml': cm('drop-cm'), 'kept/cm.yaml': cm('kept-cm') });
    const app = (name: string) => ({ name, path: name, targets: everywhere });
    await reconcileOnce(stackFor(repo.dir, [app('stay'), app('drop'), app('kept')]));
    for (const c of [first, second]) expect(await readObject(c, 'v1', 'ConfigMap', 'drop-cm', 'default')).toBeDefined();

    const statuses = await reconcileOnce(withOrphan(stackFor(repo.dir, [app('stay')]), ['kept']));
    for (const c of [first, second]) {
      expect(byCluster(statuses, 'drop').get(c.name)).toMatchObject({ sync: 'Synced', objects: 0 });
      expect(await readObject(c, 'v1', 'ConfigMap', 'drop-cm', 'default'), 'pruned').toBeUndefined();
      expect(await readObject(c, 'v1', 'ConfigMap', 'kept-cm', 'default'), 'orphaned: left in place').toBeDefined();
      expect(await readObject(c, 'v1', 'ConfigMap', 'stay-cm', 'default')).toBeDefined();
      const left = await records(c);
      expect(left.has('drop')).toBe(false);
      expect(left.has('kept')).toBe(false);
      expect(left.get('stay')?.status?.sync).toBe('Synced');
    }
  });

  it('stays listed while its prune is refused (PruneFailed, 403), and is finished by a later round', async () => {
    await repo.commit({ 'locked/cm.yaml': cm('locked-cm') });
    const full = stackFor(repo.dir, [{ name: 'locked', path: 'locked', targets: everywhere }]);
    await reconcileOnce(full);
    const cannotDelete = await limitedKubeconfig(second, dir, ['get', 'list', 'patch']);
    const removed = withKubeconfig(stackFor(repo.dir, []), second.name, cannotDelete);
    const statuses = byCluster(await reconcileOnce(removed), 'locked');
    expect(statuses.get(first.name)).toMatchObject({ sync: 'Synced', objects: 0 });
    expect(statuses.get(second.name)).toMatchObject({ sync: 'Failed', error: { reason: 'PruneFailed', where: `cluster ${second.name}: ConfigMap default/locked-cm` } });
    expect(statuses.get(second.name)?.error?.message).toMatch(/403 Forbidden/);
    expect((await records(second)).get('locked')?.status?.error?.reason, 'infra status still lists it').toBe('PruneFailed');
    expect(await readObject(second, 'v1', 'ConfigMap', 'locked-cm', 'default')).toBeDefined();

    const finished = byCluster(await reconcileOnce(stackFor(repo.dir, [])), 'locked');
    expect(finished.get(second.name)).toMatchObject({ sync: 'Synced', objects: 0 });
    expect(await readObject(second, 'v1', 'ConfigMap', 'locked-cm', 'default')).toBeUndefined();
    expect((await records(second)).has('locked')).toBe(false);
  });
});

describe('a prune that does not finish', () => {
  it('a namespace stuck Terminating is PruneBlocked with its reason, stays in the inventory, and is retried', async () => {
    const stack = stackFor(repo.dir, [{ name: 'doomed', path: 'doomed', timeout: '20s', targets: everywhere }]);
    await repo.commit({ 'doomed/ns.yaml': ns('doomed'), 'doomed/cm.yaml': cm('doomed-cm', 'doomed'), 'doomed/other.yaml': cm('doomed-other') });
    await reconcileOnce(stack);

    // An aggregated API with no backend: the namespace controller cannot finish any namespace here.
    await applyAs(first, '/api/v1/namespaces/default/services/no-api-backend', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'no-api-backend', namespace: 'default' }, spec: { selector: { app: 'nothing' }, ports: [{ port: 443 }] },
    });
    await applyAs(first, APISERVICE, {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1.stuck.infra-test.dev' },
      spec: { group: 'stuck.infra-test.dev', version: 'v1', service: { namespace: 'default', name: 'no-api-backend', port: 443 }, insecureSkipTLSVerify: true, groupPriorityMinimum: 1000, versionPriority: 15 },
    });
    const commit = await repo.commit({ 'doomed/ns.yaml': null, 'doomed/cm.yaml': null });
    const statuses = byCluster(await reconcileOnce(stack), 'doomed');
    expect(statuses.get(second.name)?.error).toBeUndefined();
    expect(statuses.get(second.name)).toMatchObject({ sync: 'Synced', revision: commit });
    const blocked = statuses.get(first.name);
    expect(blocked).toMatchObject({ sync: 'Failed', error: { reason: 'PruneBlocked', where: `cluster ${first.name}: Namespace doomed` } });
    expect(blocked?.error?.message).toMatch(/Namespace doomed is still being deleted: .*(Discovery|stuck\.infra-test\.dev)/);
    const client = new KubeClient(first.name, first.kubeconfig);
    try {
      expect((await readRecord(client, 'doomed')).inventory.entries.map((e) => e.key)).toContain('/Namespace//doomed');
    } finally {
      client.close();
    }

    await deleteIfPresent(first, APISERVICE);
    const after = byCluster(await reconcileOnce(stack), 'doomed');
    expect(after.get(first.name)?.error).toBeUndefined();
    expect(after.get(first.name)).toMatchObject({ sync: 'Synced', revision: commit });
    expect(await readObject(first, 'v1', 'Namespace', 'doomed')).toBeUndefined();
    const again = new KubeClient(first.name, first.kubeconfig);
    try {
      expect((await readRecord(again, 'doomed')).inventory.entries.map((e) => e.key)).not.toContain('/Namespace//doomed');
    } finally {
      again.close();
    }
  });
});

describe('an app name another stack already uses on a cluster', () => {
  it('is refused there, naming both stacks; the owner\'s objects and record are untouched, and the owner keeps pruning its own', async () => {
    await repo.commit({ 'shared-a/cm.yaml': cm('shared-a-cm'), 'shared-b/cm.yaml': cm('shared-b-cm') });
    const owner = stackFor(repo.dir, [{ name: 'shared', path: 'shared-a', targets: { clusters: [first.name] } }]);
    expect(byCluster(await reconcileOnce(owner), 'shared').get(first.name)).toMatchObject({ sync: 'Synced', objects: 1 });

    const intruder: StackSpec = { ...stackFor(repo.dir, [{ name: 'shared', path: 'shared-b', targets: everywhere }]), name: 'intruder' };
    const statuses = byCluster(await reconcileOnce(intruder), 'shared');
    expect(statuses.get(first.name)).toMatchObject({ sync: 'Failed', error: { reason: 'OwnedByOtherStack', where: `cluster ${first.name}: ConfigMap infra-system/infra-app-shared` } });
    expect(statuses.get(first.name)?.error?.message).toContain(`belongs to stack "${owner.name}", not to stack "intruder"`);
    // Where nobody owns the name, the intruder's app is an app like any other.
    expect(statuses.get(second.name)).toMatchObject({ sync: 'Synced', objects: 1 });
    expect(await readObject(first, 'v1', 'ConfigMap', 'shared-a-cm', 'default'), "the owner's object stays").toBeDefined();
    expect(await readObject(first, 'v1', 'ConfigMap', 'shared-b-cm', 'default'), 'nothing of the intruder applied').toBeUndefined();
    const client = new KubeClient(first.name, first.kubeconfig);
    try {
      const record = await readRecord(client, 'shared');
      expect(record.stack).toBe(owner.name);
      expect(record.status?.sync).toBe('Synced');
      expect(record.inventory.entries.map((e) => e.key)).toEqual(['/ConfigMap/default/shared-a-cm']);
    } finally {
      client.close();
    }

    // The owner drops the app: it prunes its own object; the intruder's app elsewhere is not its to prune.
    await reconcileOnce(stackFor(repo.dir, []));
    expect(await readObject(first, 'v1', 'ConfigMap', 'shared-a-cm', 'default')).toBeUndefined();
    expect(await readObject(second, 'v1', 'ConfigMap', 'shared-b-cm', 'default')).toBeDefined();
    // Then the name is free on the first cluster, and the other stack's next round takes it.
    expect(byCluster(await reconcileOnce(intruder), 'shared').get(first.name)).toMatchObject({ sync: 'Synced', objects: 1 });
    await reconcileOnce({ ...stackFor(repo.dir, []), name: 'intruder' });
    for (const c of [first, second]) expect(await readObject(c, 'v1', 'ConfigMap', 'shared-b-cm', 'default')).toBeUndefined();
  });
});
