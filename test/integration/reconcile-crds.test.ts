import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';
import { crdYaml } from '../harness/crd-fixture.ts';

/** CRDs and their custom resources in one revision; a custom resource whose CRD exists nowhere. */

let repo: GitFixture;
const [c0] = testClusters() as [TestCluster];

const CRD = crdYaml('ops.infra.dev', 'Backup', { schedule: 'string' });

beforeAll(async () => {
  repo = await GitFixture.create();
});
afterAll(() => repo.remove());

describe('custom resources', () => {
  it('syncs a custom resource whose CRD is in the same revision in one round', async () => {
    await repo.commit({
      'ops/crd.yaml': CRD,
      'ops/backup.yaml': 'apiVersion: ops.infra.dev/v1\nkind: Backup\nmetadata:\n  name: nightly\nspec:\n  schedule: "0 3 * * *"\n',
    });
    const statuses = await reconcileOnce(stackFor(repo.dir, [{ name: 'ops', path: 'ops', namespace: 'default', targets: { clusters: [c0.name] } }]));
    expect(statuses[0], JSON.stringify(statuses)).toMatchObject({ sync: 'Synced', health: 'Healthy', objects: 2 });
    const backup = (await readObject(c0, 'ops.infra.dev/v1', 'Backup', 'nightly', 'default')) as { spec?: { schedule?: string } } | undefined;
    expect(backup?.spec?.schedule).toBe('0 3 * * *');
  });

  it('refuses a custom resource of a CRD that exists nowhere, naming file and object, and changes nothing', async () => {
    await repo.commit({
      'orphan/a-config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: orphan-config\ndata:\n  a: "1"\n',
      'orphan/restore.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: orphan-note\n---\napiVersion: ops.infra.dev/v1\nkind: Restore\nmetadata:\n  name: yesterday\nspec: {}\n',
    });
    const statuses = await reconcileOnce(stackFor(repo.dir, [{ name: 'orphan', path: 'orphan', namespace: 'default', targets: { clusters: [c0.name] } }]));
    expect(statuses[0]).toMatchObject({ sync: 'Failed', error: { reason: 'ValidationFailed', where: 'orphan/restore.yaml:6' } });
    expect(statuses[0]?.error?.message).toContain('Restore yesterday');
    expect(statuses[0]?.error?.message).toContain('no CRD in this revision defines it');
    expect(await readObject(c0, 'v1', 'ConfigMap', 'orphan-config', 'default')).toBeUndefined();
    expect(await readObject(c0, 'v1', 'ConfigMap', 'orphan-note', 'default')).toBeUndefined();
  });
});
