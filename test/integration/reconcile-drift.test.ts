import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** Edits made through the API are reverted, or only reported in detect-only mode; ignored fields stay; a no-op round writes nothing. */

let repo: GitFixture;
const [cluster] = testClusters() as [TestCluster];
const app = (name: string, extra: Record<string, unknown> = {}) => ({ name, path: name, namespace: 'default', targets: { clusters: [cluster.name] }, ...extra });
const files = (name: string) => ({
  [`${name}/cm.yaml`]: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  key: git\n`,
  [`${name}/deploy.yaml`]: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    metadata: {labels: {app: ${name}}}\n    spec:\n      containers: [{name: c, image: nginx}]\n`,
});

beforeAll(async () => {
  repo = await GitFixture.create();
  await repo.commit({ ...files('drift-fix'), ...files('drift-watch'), ...files('drift-ignore') });
});
afterAll(() => repo.remove());

async function tamper(name: string): Promise<void> {
  const { core, apps } = clients(cluster);
  await core.patchNamespacedConfigMap({ name, namespace: 'default', body: [{ op: 'replace', path: '/data/key', value: 'hand-edited' }] });
  await apps.patchNamespacedDeployment({ name, namespace: 'default', body: [{ op: 'replace', path: '/spec/replicas', value: 3 }] });
}

async function live(name: string): Promise<{ key: string | undefined; replicas: number | undefined }> {
  const { core, apps } = clients(cluster);
  const cm = await core.readNamespacedConfigMap({ name, namespace: 'default' });
  const d = await apps.readNamespacedDeployment({ name, namespace: 'default' });
  return { key: cm.data?.['key'], replicas: d.spec?.replicas };
}

describe('drift', () => {
  it('is corrected in the default mode', async () => {
    const stack = stackFor(repo.dir, [app('drift-fix')]);
    await reconcileOnce(stack);
    await tamper('drift-fix');
    const s = byCluster(await reconcileOnce(stack), 'drift-fix').get(cluster.name);
    expect(s?.error).toBeUndefined();
    expect(s).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    expect(await live('drift-fix')).toEqual({ key: 'git', replicas: 1 });
  });

  it('is only reported in detect-only mode, naming the fields', async () => {
    const stack = stackFor(repo.dir, [app('drift-watch', { drift: 'detect' })]);
    await reconcileOnce(stack);
    await tamper('drift-watch');
    const s = byCluster(await reconcileOnce(stack), 'drift-watch').get(cluster.name);
    expect(s?.sync).toBe('OutOfSync');
    expect(s?.drifted).toEqual(
      expect.arrayContaining([
        { object: 'ConfigMap default/drift-watch', fields: ['/data/key'] },
        { object: 'Deployment default/drift-watch', fields: ['/spec/replicas'] },
      ]),
    );
    expect(await live('drift-watch')).toEqual({ key: 'hand-edited', replicas: 3 });
  });

  it('ignores fields named by JSON pointer rules', async () => {
    const stack = stackFor(repo.dir, [app('drift-ignore', { ignore: [{ kind: 'Deployment', pointers: ['/spec/replicas'] }] })]);
    await reconcileOnce(stack);
    await clients(cluster).apps.patchNamespacedDeployment({ name: 'drift-ignore', namespace: 'default', body: [{ op: 'replace', path: '/spec/replicas', value: 2 }] });
    const s = byCluster(await reconcileOnce(stack), 'drift-ignore').get(cluster.name);
    expect(s).toMatchObject({ sync: 'Synced', drifted: [] });
    expect((await live('drift-ignore')).replicas).toBe(2);
  });

  it('a no-op round writes nothing: no object and no record changes its resourceVersion', async () => {
    const stack = stackFor(repo.dir, [app('drift-fix')]);
    await reconcileOnce(stack);
    const { core, apps } = clients(cluster);
    const versions = async () => [
      (await core.readNamespacedConfigMap({ name: 'drift-fix', namespace: 'default' })).metadata?.resourceVersion,
      (await apps.readNamespacedDeployment({ name: 'drift-fix', namespace: 'default' })).metadata?.resourceVersion,
      (await core.readNamespacedConfigMap({ name: 'infra-app-drift-fix', namespace: 'infra-system' })).metadata?.resourceVersion,
    ];
    const before = await versions();
    await reconcileOnce(stack);
    expect(await versions()).toEqual(before);
  });
});
