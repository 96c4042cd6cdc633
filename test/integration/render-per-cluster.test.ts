import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';
import { crdYaml } from '../harness/crd-fixture.ts';

/**
 * An error belongs to the cluster where it happened: a chart that fails to render for one
 * cluster's capabilities (an API group it serves) fails the app on that cluster only, and the
 * others sync. A chart that fails for every cluster is a broken commit: nothing changes anywhere.
 */

let repo: GitFixture;
const [withGauge, without] = testClusters() as [TestCluster, TestCluster];

const GAUGE_CRD = crdYaml('meter.infra.dev', 'Gauge');

const cm = (value: string, extra = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  v: "${value}"\n${extra}`;
const GUARD = '{{- if .Capabilities.APIVersions.Has "meter.infra.dev/v1" }}\n{{- fail "meter.infra.dev/v1 is served: this chart does not support it" }}\n{{- end }}\n';
const gaugeCrd = { name: 'gauge-crd', path: 'crd', targets: { clusters: [withGauge.name] } };
// The CRD's app stays in the stack: a round prunes the apps its stack no longer lists.
const stack = () => stackFor(repo.dir, [gaugeCrd, { name: 'meter', path: 'meter', namespace: 'default', dependsOn: ['gauge-crd'], targets: { clusters: [withGauge.name, without.name] } }]);
const value = async (c: TestCluster) => ((await readObject(c, 'v1', 'ConfigMap', 'meter-settings', 'default')) as { data?: { v?: string } } | undefined)?.data?.v;

beforeAll(async () => {
  repo = await GitFixture.create();
  await repo.commit({ 'crd/gauge.yaml': GAUGE_CRD, 'meter/Chart.yaml': 'apiVersion: v2\nname: meter\nversion: 0.1.0\n', 'meter/templates/settings.yaml': cm('one') });
  const crd = await reconcileOnce(stackFor(repo.dir, [gaugeCrd]));
  expect(crd.map((s) => s.sync)).toEqual(['Synced']);
  const first = byCluster(await reconcileOnce(stack()), 'meter');
  for (const c of [withGauge, without]) expect(first.get(c.name), JSON.stringify([...first.values()])).toMatchObject({ sync: 'Synced', health: 'Healthy' });
});
afterAll(() => repo.remove());

describe('a render error', () => {
  it('that depends on the cluster\'s capabilities fails the app on that cluster only', async () => {
    const commit = await repo.commit({ 'meter/templates/settings.yaml': cm('two'), 'meter/templates/guard.yaml': GUARD });
    const statuses = byCluster(await reconcileOnce(stack()), 'meter');
    const failed = statuses.get(withGauge.name);
    expect(failed, JSON.stringify([...statuses.values()])).toMatchObject({ sync: 'Failed', revision: commit, error: { reason: 'RenderFailed' } });
    expect(failed?.error?.where).toContain('meter/Chart.yaml');
    expect(failed?.error?.where).toContain(`cluster ${withGauge.name}`);
    expect(failed?.error?.message).toContain('this chart does not support it');
    expect(statuses.get(without.name), JSON.stringify([...statuses.values()])).toMatchObject({ sync: 'Synced', health: 'Healthy', revision: commit, lastAppliedRevision: commit });
    expect(await value(withGauge)).toBe('one');
    expect(await value(without)).toBe('two');
  });

  it('that happens for every cluster is a broken commit: nothing changes anywhere', async () => {
    const before = byCluster(await reconcileOnce(stack()), 'meter');
    const good = before.get(without.name)?.lastAppliedRevision;
    const broken = await repo.commit({ 'meter/templates/settings.yaml': cm('three', '{{ fail "broken everywhere" }}\n') });
    const statuses = byCluster(await reconcileOnce(stack()), 'meter');
    for (const c of [withGauge, without]) {
      const s = statuses.get(c.name);
      expect(s, JSON.stringify([...statuses.values()])).toMatchObject({ sync: 'Failed', revision: broken, error: { reason: 'RenderFailed' } });
      expect(s?.error?.where).toBe('meter/Chart.yaml');
      expect(s?.error?.message).toContain('broken everywhere');
    }
    expect(statuses.get(without.name)?.lastAppliedRevision).toBe(good);
    expect(await value(withGauge)).toBe('one');
    expect(await value(without)).toBe('two');
  });
});
