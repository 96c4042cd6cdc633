import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusters } from '../harness/environment.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** A commit with one invalid object applies nothing in any cluster; status names file and object; the previous revision stays. */

let repo: GitFixture;
let good: string;
const stack = () => stackFor(repo.dir, [{ name: 'guard', path: 'guard', namespace: 'default', targets: { selector: { matchLabels: {} } } }]);
const cm = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: "${value}"\n`;

beforeAll(async () => {
  repo = await GitFixture.create();
  good = await repo.commit({ 'guard/one.yaml': cm('guard-one', 'good'), 'guard/two.yaml': cm('guard-two', 'good') });
  const statuses = byCluster(await reconcileOnce(stack()), 'guard');
  for (const c of testClusters()) expect(statuses.get(c.name)?.sync).toBe('Synced');
});
afterAll(() => repo.remove());

async function expectUnchanged(): Promise<void> {
  for (const cluster of testClusters()) {
    for (const name of ['guard-one', 'guard-two']) {
      const obj = (await readObject(cluster, 'v1', 'ConfigMap', name, 'default')) as { data: { v: string } } | undefined;
      expect(obj?.data.v, `${cluster.name} ${name}`).toBe('good');
    }
    expect(await readObject(cluster, 'v1', 'ConfigMap', 'guard-three', 'default')).toBeUndefined();
  }
}

describe('a broken commit', () => {
  it.each([
    ['bad YAML', 'guard/two.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guard-two\ndata: [unclosed\n', 'RenderFailed', /guard\/two\.yaml:\d+/],
    ['an unknown field (strict validation)', 'guard/two.yaml', `${cm('guard-two', 'bad')}spec:\n  nonsense: true\n`, 'ValidationFailed', /guard\/two\.yaml:1/],
    ['a kind the cluster does not serve', 'guard/two.yaml', 'apiVersion: v1\nkind: ConfigMapp\nmetadata:\n  name: guard-two\n', 'ValidationFailed', /guard\/two\.yaml:1/],
  ])('with %s changes nothing anywhere and says where', async (_what, file, content, reason, where) => {
    const broken = await repo.commit({ [file]: content, 'guard/one.yaml': cm('guard-one', 'changed'), 'guard/three.yaml': cm('guard-three', 'new') });
    const statuses = byCluster(await reconcileOnce(stack()), 'guard');
    for (const cluster of testClusters()) {
      const s = statuses.get(cluster.name);
      expect(s?.sync).toBe('Failed');
      expect(s?.error?.reason).toBe(reason);
      expect(`${s?.error?.where} ${s?.error?.message}`).toMatch(where);
      expect(s?.revision).toBe(broken);
      expect(s?.lastAppliedRevision).toBe(good);
    }
    await expectUnchanged();
    await repo.commit({ 'guard/one.yaml': cm('guard-one', 'good'), 'guard/two.yaml': cm('guard-two', 'good'), 'guard/three.yaml': null });
  });
});
