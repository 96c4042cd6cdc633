import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** Per-object annotations (skip, never prune, create-only), the conflict policy, and dependsOn. */

let repo: GitFixture;
const [, cluster] = testClusters() as [TestCluster, TestCluster];
const cm = (name: string, value: string, annotations: Record<string, string> = {}) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  annotations: ${JSON.stringify(annotations)}\ndata:\n  v: "${value}"\n`;
const app = (name: string, extra: Record<string, unknown> = {}) => ({ name, path: name, namespace: 'default', targets: { clusters: [cluster.name] }, ...extra });
const data = async (name: string) => ((await readObject(cluster, 'v1', 'ConfigMap', name, 'default')) as { data?: Record<string, string> } | undefined)?.data;

beforeAll(async () => {
  repo = await GitFixture.create();
});
afterAll(() => repo.remove());

describe('object policies', () => {
  it('skips, keeps and creates-only by annotation', async () => {
    await repo.commit({
      'pol/skip.yaml': cm('pol-skip', '1', { 'infra.dev/reconcile': 'disabled' }),
      'pol/keep.yaml': cm('pol-keep', '1', { 'infra.dev/prune': 'disabled' }),
      'pol/once.yaml': cm('pol-once', '1', { 'infra.dev/apply': 'create-only' }),
    });
    const stack = stackFor(repo.dir, [app('pol')]);
    expect(byCluster(await reconcileOnce(stack), 'pol').get(cluster.name)?.sync).toBe('Synced');
    expect(await data('pol-skip')).toBeUndefined();
    expect(await data('pol-once')).toEqual({ v: '1' });

    await clients(cluster).core.patchNamespacedConfigMap({ name: 'pol-once', namespace: 'default', body: [{ op: 'replace', path: '/data/v', value: 'mine' }] });
    await repo.commit({ 'pol/once.yaml': cm('pol-once', '2', { 'infra.dev/apply': 'create-only' }), 'pol/keep.yaml': null });
    expect(byCluster(await reconcileOnce(stack), 'pol').get(cluster.name)?.sync).toBe('Synced');
    expect(await data('pol-once')).toEqual({ v: 'mine' });
    expect(await data('pol-keep'), 'never-prune object stays after leaving Git').toEqual({ v: '1' });
  });

  it('reports a field owned by another manager instead of forcing, when asked to', async () => {
    await repo.commit({ 'conf/cm.yaml': cm('conf', 'git') });
    await clients(cluster).core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'conf' }, data: { v: 'theirs' } }, fieldManager: 'someone-else' });
    const s = byCluster(await reconcileOnce(stackFor(repo.dir, [app('conf', { conflicts: 'report' })])), 'conf').get(cluster.name);
    expect(s?.sync).toBe('Failed');
    expect(s?.error?.reason).toBe('Conflict');
    expect(s?.error?.message).toMatch(/someone-else/);
    expect(await data('conf')).toEqual({ v: 'theirs' });

    const forced = byCluster(await reconcileOnce(stackFor(repo.dir, [app('conf')])), 'conf').get(cluster.name);
    expect(forced?.sync).toBe('Synced');
    expect(await data('conf')).toEqual({ v: 'git' });
  });

  it('holds an app back while an app it depends on is not healthy', async () => {
    await repo.commit({
      'dep-base/cm.yaml': cm('dep-base', '1').replace('kind: ConfigMap', 'kind: ConfigMapp'),
      'dep-top/cm.yaml': cm('dep-top', '1'),
    });
    const stack = stackFor(repo.dir, [app('dep-base'), app('dep-top', { dependsOn: ['dep-base'] })]);
    const statuses = await reconcileOnce(stack);
    expect(byCluster(statuses, 'dep-base').get(cluster.name)?.sync).toBe('Failed');
    expect(byCluster(statuses, 'dep-top').get(cluster.name)?.error?.reason).toBe('DependencyNotReady');
    expect(await data('dep-top')).toBeUndefined();
  });
});
