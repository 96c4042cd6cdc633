import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** Kustomize overlays and Helm charts through the real binaries, per-cluster variables, and an app-of-apps folder. */

let repo: GitFixture;
const clusters = testClusters() as [TestCluster, TestCluster, TestCluster];
const labels = Object.fromEntries(clusters.map((c, i) => [c.name, { tier: i === 2 ? 'edge' : 'core', region: `r${i}` }]));

beforeAll(async () => {
  repo = await GitFixture.create();
  await repo.commit({
    'kz/base/kustomization.yaml': 'resources:\n  - cm.yaml\n',
    'kz/base/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kz-settings\ndata:\n  level: base\n  where: ${cluster.labels.region}\n',
    'kz/overlay/kustomization.yaml': 'resources:\n  - ../base\nnamePrefix: prod-\npatches:\n  - path: level.yaml\n',
    'kz/overlay/level.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kz-settings\ndata:\n  level: overlay\n',
    'chart/Chart.yaml': 'apiVersion: v2\nname: greeter\nversion: 0.1.0\n',
    'chart/values.yaml': 'greeting: hello\nreplicas: 1\n',
    'chart/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  cluster: "${cluster.name}"\n',
    'apps/first.yaml': 'apiVersion: infra.dev/v1alpha1\nkind: App\nmetadata:\n  name: child-first\nspec:\n  path: children/first\n  namespace: default\n',
    'children/first/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: child-first\ndata:\n  n: "1"\n',
  });
});
afterAll(() => repo.remove());

describe('rendering', () => {
  it('builds a kustomize overlay and a helm chart, substituting per-cluster variables', async () => {
    const stack = stackFor(
      repo.dir,
      [
        { name: 'kz', path: 'kz/overlay', namespace: 'default', targets: { selector: { matchLabels: { tier: 'core' } } } },
        { name: 'greeter', path: 'chart', namespace: 'default', helm: { releaseName: 'hi', values: { greeting: 'bonjour' } }, targets: { clusters: [clusters[2].name] } },
      ],
      labels,
    );
    const statuses = await reconcileOnce(stack);
    expect(statuses.every((s) => s.sync === 'Synced'), JSON.stringify(statuses.map((s) => s.error))).toBe(true);
    expect([...byCluster(statuses, 'kz').keys()].sort()).toEqual([clusters[0].name, clusters[1].name]);
    for (const [i, c] of [clusters[0], clusters[1]].entries()) {
      const cm = (await readObject(c, 'v1', 'ConfigMap', 'prod-kz-settings', 'default')) as { data: Record<string, string> };
      expect(cm.data).toEqual({ level: 'overlay', where: `r${i}` });
    }
    expect(await readObject(clusters[2], 'v1', 'ConfigMap', 'prod-kz-settings', 'default')).toBeUndefined();
    const greeting = (await readObject(clusters[2], 'v1', 'ConfigMap', 'hi-greeting', 'default')) as { data: Record<string, string> };
    expect(greeting.data).toEqual({ greeting: 'bonjour', cluster: clusters[2].name });
  });

  it('deploys the apps an app-of-apps folder defines, and a pushed App file adds one', async () => {
    const stack = stackFor(repo.dir, [{ name: 'root', path: 'apps', kind: 'apps', targets: { clusters: [clusters[0].name] } }]);
    let statuses = await reconcileOnce(stack);
    expect(byCluster(statuses, 'child-first').get(clusters[0].name)?.sync).toBe('Synced');
    expect(await readObject(clusters[0], 'v1', 'ConfigMap', 'child-first', 'default')).toBeDefined();

    await repo.commit({
      'apps/second.yaml': 'apiVersion: infra.dev/v1alpha1\nkind: App\nmetadata:\n  name: child-second\nspec:\n  path: children/second\n  namespace: default\n',
      'children/second/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: child-second\ndata:\n  n: "2"\n',
    });
    statuses = await reconcileOnce(stack);
    expect(byCluster(statuses, 'child-second').get(clusters[0].name)?.sync).toBe('Synced');
    expect(await readObject(clusters[0], 'v1', 'ConfigMap', 'child-second', 'default')).toBeDefined();
  });

  it('names the file and the variable when a variable is unknown', async () => {
    await repo.commit({ 'vars/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vars\ndata:\n  x: ${var.missing}\n' });
    const stack = stackFor(repo.dir, [{ name: 'vars', path: 'vars', namespace: 'default', targets: { clusters: [clusters[0].name] } }]);
    const s = byCluster(await reconcileOnce(stack), 'vars').get(clusters[0].name);
    expect(s?.error).toMatchObject({ reason: 'RenderFailed', where: 'vars/cm.yaml:6' });
    expect(s?.error?.message).toContain('${var.missing}');
  });
});
