import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusters, testEnvironment } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { fixtureFiles } from '../harness/fixture-files.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';
import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * A kustomize base and overlay (test/fixtures/render/kz): variables only in infra's namespaces,
 * opt-outs per object and per app, errors located in the base file that holds the string
 * (not in kustomize's output), and a render cache no other user can read.
 */

let repo: GitFixture;
const [c0] = testClusters() as [TestCluster];
type Obj = KubernetesObject & { data?: Record<string, string> };
const data = async (name: string) => ((await readObject(c0, 'v1', 'ConfigMap', name, 'default')) as Obj | undefined)?.data;
const labels = { [c0.name]: { region: 'eu-west' } };
const overlay = (extra: Record<string, unknown> = {}) => ({ name: 'kz', path: 'kz/overlay', namespace: 'default', variables: { tier: 'gold' }, targets: { clusters: [c0.name] }, ...extra });

beforeAll(async () => {
  repo = await GitFixture.create();
  await repo.commit(await fixtureFiles('render/kz', 'kz'));
});
afterAll(() => repo.remove());

describe('kustomize overlays as published', () => {
  it('substitutes infra\'s variables, leaves shell syntax alone, and applies no build annotation', async () => {
    const statuses = await reconcileOnce(stackFor(repo.dir, [overlay()], labels));
    expect(byCluster(statuses, 'kz').get(c0.name), JSON.stringify(statuses)).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    expect(await data('prod-settings')).toEqual({ level: 'overlay', region: 'eu-west' });
    expect(await data('prod-tuning')).toEqual({ tier: 'gold' });
    expect((await data('prod-worker'))?.['run.sh']).toBe('#!/bin/sh\nexec worker --home "$HOME" --id "${1}"\n');
    const live = (await readObject(c0, 'v1', 'ConfigMap', 'prod-settings', 'default')) as Obj;
    expect(Object.keys(live.metadata?.annotations ?? {}).filter((k) => k.startsWith('config.kubernetes.io'))).toEqual([]);
  });

  it('names the base file and the line of an unknown variable, and changes nothing', async () => {
    const statuses = await reconcileOnce(stackFor(repo.dir, [overlay({ variables: {} })], labels));
    expect(statuses[0]?.error).toMatchObject({ reason: 'RenderFailed', where: 'kz/base/settings.yaml:14' });
    expect(statuses[0]?.error?.message).toContain('${var.tier}');
    expect(await data('prod-tuning')).toEqual({ tier: 'gold' });
  });

  it('names the base file and document of an object the apiserver rejects', async () => {
    await repo.commit({ 'kz/base/worker.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: worker\ndata:\n  run.sh: echo\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: worker\nspec:\n  portz: []\n' });
    await repo.commit({ 'kz/base/kustomization.yaml': 'resources:\n  - settings.yaml\n  - worker.yaml\n' });
    const statuses = await reconcileOnce(stackFor(repo.dir, [overlay()], labels));
    expect(statuses[0]?.error).toMatchObject({ reason: 'ValidationFailed', where: 'kz/base/worker.yaml:8' });
    expect(statuses[0]?.error?.message).toContain('portz');
    await repo.commit(await fixtureFiles('render/kz', 'kz'));
  });

  it('turns substitution off per object by annotation and per app', async () => {
    await repo.commit({
      'raw/grafana.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw-dash\n  annotations:\n    infra.dev/substitute: disabled\ndata:\n  query: "${var.instance} on ${cluster.name}"\n',
      'raw-app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raw-app\ndata:\n  template: "${cluster.name}/${var.anything}"\n',
    });
    const statuses = await reconcileOnce(stackFor(repo.dir, [
      { name: 'raw', path: 'raw', namespace: 'default', targets: { clusters: [c0.name] } },
      { name: 'raw-app', path: 'raw-app', namespace: 'default', substitute: false, targets: { clusters: [c0.name] } },
    ]));
    // kz, which this stack no longer lists, is pruned as a removed app: only the two apps here are checked.
    const ours = statuses.filter((s) => s.app === 'raw' || s.app === 'raw-app');
    expect(ours.map((s) => s.sync), JSON.stringify(statuses)).toEqual(['Synced', 'Synced']);
    expect(await data('raw-dash')).toEqual({ query: '${var.instance} on ${cluster.name}' });
    expect(await data('raw-app')).toEqual({ template: '${cluster.name}/${var.anything}' });
  });

  it('keeps rendered manifests (Secrets included) and checkouts readable by their owner only', async () => {
    await repo.commit({ 'secret/s.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2\n' });
    const statuses = await reconcileOnce(stackFor(repo.dir, [{ name: 'secret', path: 'secret', namespace: 'default', targets: { clusters: [c0.name] } }]));
    expect(statuses[0]?.sync).toBe('Synced');
    const cache = join(testEnvironment().infraHome, 'cache');
    const modes: string[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      modes.push(`${dir}: ${((await stat(dir)).mode & 0o777).toString(8)}`);
      if (depth === 0) return;
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p, depth - 1);
        else if (e.isFile()) modes.push(`${p}: ${((await stat(p)).mode & 0o777).toString(8)}`);
      }
    };
    await walk(join(cache, 'render'), 2);
    await walk(join(cache, 'git'), 0);
    expect(modes.length).toBeGreaterThan(3);
    expect(modes.filter((m) => !/: (600|700)$/.test(m))).toEqual([]);
  });
});
