import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../clusters/kube-client.ts';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { fixtureFiles } from '../harness/fixture-files.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';
import type { KubernetesObject } from '@kubernetes/client-node';
import { crdYaml } from '../harness/crd-fixture.ts';

/**
 * A chart as people publish it (test/fixtures/render/chart): `kubeVersion: ">=1.22.0-0"`,
 * a test hook, a pre-install Job, post-install hooks named with randAlphaNum, a shell script
 * with `${1}` and a dashboard with `${datasource}`. It syncs unchanged, rendered with each
 * cluster's own capabilities, hooks at their phase, and nothing churns on unrelated commits.
 */

let repo: GitFixture;
const clusters = testClusters() as [TestCluster, TestCluster, TestCluster];
type Obj = KubernetesObject & { data?: Record<string, string>; spec?: Record<string, unknown>; status?: Record<string, unknown> };
const data = async (c: TestCluster, name: string) => ((await readObject(c, 'v1', 'ConfigMap', name, 'default')) as Obj | undefined)?.data;

const PROBE_CRD = crdYaml('shop.infra.dev', 'Probe');

const shop = (extra: Record<string, unknown> = {}) => ({ name: 'shop', path: 'chart', namespace: 'default', helm: { releaseName: 'shop', valuesFiles: ['values-eu.yaml'] }, ...extra });

async function serverVersion(c: TestCluster): Promise<string> {
  const client = new KubeClient(c.name, c.kubeconfig);
  try {
    return (await client.request<{ gitVersion: string }>('GET', '/version')).gitVersion;
  } finally {
    client.close();
  }
}

/** The post-install ConfigMap hook, named shop-release-<random>. */
async function releaseHook(c: TestCluster): Promise<Obj | undefined> {
  const client = new KubeClient(c.name, c.kubeconfig);
  try {
    const list = await client.request<{ items: Obj[] }>('GET', '/api/v1/namespaces/default/configmaps');
    const hooks = list.items.filter((i) => i.metadata?.name?.startsWith('shop-release-'));
    expect(hooks.length).toBeLessThanOrEqual(1);
    return hooks[0];
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  repo = await GitFixture.create();
  await repo.commit({ ...(await fixtureFiles('render/chart', 'chart')), 'crd/probe.yaml': PROBE_CRD, 'README.md': 'shop\n' });
});
afterAll(() => repo.remove());

describe('helm charts as published', () => {
  it('renders with each cluster\'s version and API groups; clusters alike share one render', async () => {
    // The Probe API exists on the first cluster only.
    const crd = await reconcileOnce(stackFor(repo.dir, [{ name: 'probe-crd', path: 'crd', targets: { clusters: [clusters[0].name] } }]));
    expect(crd.map((s) => s.sync)).toEqual(['Synced']);

    const statuses = await reconcileOnce(stackFor(repo.dir, [shop({ targets: { clusters: clusters.map((c) => c.name) } })]));
    for (const c of clusters) expect(byCluster(statuses, 'shop').get(c.name), JSON.stringify(statuses)).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    for (const c of clusters) {
      const d = await data(c, 'shop-scripts');
      expect(d?.['kube']).toBe(await serverVersion(c));
      expect(d?.['greeting']).toBe('bonjour'); // valuesFiles
    }
    expect((await data(clusters[0], 'shop-scripts'))?.['probes']).toBe('served');
    expect((await data(clusters[1], 'shop-scripts'))?.['probes']).toBeUndefined();
    // randAlphaNum names: one render for the two clusters alike, another for the one with the Probe API.
    const names = await Promise.all(clusters.map(async (c) => (await releaseHook(c))?.metadata?.name));
    expect(names[1]).toBeDefined();
    expect(names[1]).toBe(names[2]);
    expect(names[0]).not.toBe(names[1]);
  });

  it('leaves ${1}, ${HOME} and ${datasource} as written; substitutes and escapes only infra\'s own', async () => {
    const scripts = await data(clusters[1], 'shop-scripts');
    expect(scripts?.['start.sh']).toBe('#!/bin/sh\n# arguments and environment stay as written\nname="${1}"\necho "hello $name from ${HOME} on $HOSTNAME"\n');
    expect(scripts?.['cluster']).toBe(clusters[1].name);
    expect(scripts?.['literal']).toBe('${cluster.name}');
    expect((await data(clusters[1], 'shop-dashboard'))?.['dashboard.json']).toContain('"datasource": "${datasource}"');
  });

  it('runs hooks at their phase: test hooks never, pre-install before the release, post-install after it is healthy', async () => {
    const c = clusters[1];
    expect(await readObject(c, 'v1', 'Pod', 'shop-test-connection', 'default')).toBeUndefined();
    const job = (await readObject(c, 'batch/v1', 'Job', 'shop-migrate', 'default')) as Obj;
    const deployment = (await readObject(c, 'apps/v1', 'Deployment', 'shop-web', 'default')) as Obj;
    const completed = (job.status?.['conditions'] as { type: string; status: string }[]).find((x) => x.type === 'Complete');
    expect(completed?.status).toBe('True');
    // The Job had finished before the release's Deployment was created.
    expect(Date.parse(String(job.status?.['completionTime']))).toBeLessThanOrEqual(Date.parse(String(deployment.metadata?.creationTimestamp)));
    // post-install: the notify Job ran and was deleted (hook-succeeded); the ConfigMap hook stays, made after the Deployment.
    const client = new KubeClient(c.name, c.kubeconfig);
    const jobs = await client.request<{ items: Obj[] }>('GET', '/apis/batch/v1/namespaces/default/jobs').finally(() => client.close());
    expect(jobs.items.map((j) => j.metadata?.name)).toEqual(['shop-migrate']);
    const hook = await releaseHook(c);
    expect(Date.parse(String(hook?.metadata?.creationTimestamp))).toBeGreaterThanOrEqual(Date.parse(String(deployment.metadata?.creationTimestamp)));
  });

  it('changes no hook on a commit that does not touch the chart, and reruns them when its inputs change', async () => {
    const c = clusters[1];
    const stack = (values: Record<string, unknown> = {}) => stackFor(repo.dir, [shop({ helm: { releaseName: 'shop', valuesFiles: ['values-eu.yaml'], values }, targets: { clusters: [c.name] } })]);
    const before = { hook: await releaseHook(c), job: await readObject(c, 'batch/v1', 'Job', 'shop-migrate', 'default') };
    await repo.commit({ 'README.md': 'shop, unrelated change\n' });
    const again = await reconcileOnce(stack());
    expect(again[0]).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    expect((await releaseHook(c))?.metadata?.uid).toBe(before.hook?.metadata?.uid);
    expect((await readObject(c, 'batch/v1', 'Job', 'shop-migrate', 'default'))?.metadata?.uid).toBe(before.job?.metadata?.uid);

    const upgraded = await reconcileOnce(stack({ migration: { schema: 'v2' } }));
    expect(upgraded[0], JSON.stringify(upgraded)).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    const job = (await readObject(c, 'batch/v1', 'Job', 'shop-migrate', 'default')) as Obj;
    expect(job.metadata?.uid).not.toBe(before.job?.metadata?.uid); // before-hook-creation: deleted, then created anew
    expect(JSON.stringify(job.spec)).toContain('"v2"');
    const hook = await releaseHook(c); // a new render: a new random name, the old hook pruned
    expect(hook?.metadata?.name).not.toBe(before.hook?.metadata?.name);
  });

  it('stops the release when a pre-install hook does not finish, naming the hook and its template', async () => {
    await repo.commit({
      'stuck/Chart.yaml': 'apiVersion: v2\nname: stuck\nversion: 0.1.0\n',
      // A bare Pod never completes on these clusters' fake nodes: the hook times out.
      'stuck/templates/hook.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-wait\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-delete-policy: hook-failed\nspec:\n  containers:\n    - name: wait\n      image: registry.invalid/wait:1\n',
      'stuck/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-after\ndata:\n  a: "1"\n',
    });
    const statuses = await reconcileOnce(stackFor(repo.dir, [{ name: 'stuck', path: 'stuck', namespace: 'default', timeout: '3s', targets: { clusters: [clusters[2].name] } }]));
    expect(statuses[0]).toMatchObject({ sync: 'Failed', error: { reason: 'HookFailed', where: 'stuck/templates/hook.yaml:1' } });
    expect(statuses[0]?.error?.message).toContain('Pod default/stuck-wait');
    expect(await readObject(clusters[2], 'v1', 'ConfigMap', 'stuck-after', 'default')).toBeUndefined();
    const pod = await readObject(clusters[2], 'v1', 'Pod', 'stuck-wait', 'default'); // hook-failed: deleted
    expect(pod === undefined || pod.metadata?.deletionTimestamp !== undefined).toBe(true);
  });

  it('renders with a pinned kube version and API versions', async () => {
    const statuses = await reconcileOnce(stackFor(repo.dir, [shop({ name: 'shop-pinned', helm: { releaseName: 'pinned', kubeVersion: '1.30.0', apiVersions: ['shop.infra.dev/v1/Probe'] }, targets: { clusters: [clusters[2].name] } })]));
    expect(statuses[0], JSON.stringify(statuses)).toMatchObject({ sync: 'Synced' });
    const d = await data(clusters[2], 'pinned-scripts');
    expect(d?.['kube']).toBe('v1.30.0');
    expect(d?.['probes']).toBe('served');
  });

  it('names the template file and line of an unknown variable', async () => {
    await repo.commit({ 'chart/templates/extra.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  fine: "${cluster.name}"\n  broken: "${var.nope}"\n' });
    const statuses = await reconcileOnce(stackFor(repo.dir, [shop({ name: 'shop-broken', helm: { releaseName: 'broken' }, targets: { clusters: [clusters[2].name] } })]));
    expect(statuses[0]?.error).toMatchObject({ reason: 'RenderFailed', where: 'chart/templates/extra.yaml:7' });
    expect(await readObject(clusters[2], 'v1', 'ConfigMap', 'broken-extra', 'default')).toBeUndefined();
    await repo.commit({ 'chart/templates/extra.yaml': null });
  });
});
