import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { runInfra } from '../harness/cli.ts';
import { GitFixture } from '../harness/git-fixture.ts';

/** `infra reconcile`, `infra diff`, `infra status` as a user runs them, with a stack file. */

let repo: GitFixture;
let dir: string;
let stackFile: string;
const [cluster] = testClusters() as [TestCluster];

beforeAll(async () => {
  repo = await GitFixture.create();
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-stack-'));
  stackFile = join(dir, 'stack.yaml');
  await writeFile(
    stackFile,
    stringify({
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      metadata: { name: 'cli' },
      clusters: [{ name: cluster.name, kubeconfig: cluster.kubeconfig, labels: { site: 'lab' } }],
      gitops: { sources: [{ name: 'repo', url: repo.dir }], apps: [{ name: 'cli-app', source: 'repo', path: 'app', namespace: 'default', targets: { clusters: [cluster.name] } }] },
    }),
  );
  await repo.commit({ 'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cli-app\ndata:\n  site: ${cluster.labels.site}\n' });
});
afterAll(async () => {
  await repo.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('gitops commands', () => {
  it('diff shows the creation, reconcile applies it, status reads it back from the cluster', async () => {
    const plan = await runInfra(['diff', '-f', stackFile], process.env);
    expect(plan.code, 'diff exits 1 when there are differences, like kubectl diff').toBe(1);
    expect(plan.stdout).toContain('+ /ConfigMap/default/cli-app');

    const rec = await runInfra(['reconcile', '-f', stackFile, '--json'], process.env);
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toEqual([expect.objectContaining({ app: 'cli-app', cluster: cluster.name, sync: 'Synced', health: 'Healthy' })]);
    const cm = await clients(cluster).core.readNamespacedConfigMap({ name: 'cli-app', namespace: 'default' });
    expect(cm.data).toEqual({ site: 'lab' });

    const status = await runInfra(['status', '-f', stackFile], process.env);
    expect(status.stdout).toMatch(/cli-app\s+test-1\s+[0-9a-f]{12}\s+Synced\s+Healthy/);
    const same = await runInfra(['diff', '-f', stackFile], process.env);
    expect(same.stdout).toContain('cli-app on test-1: no changes');
    expect(same.code, 'no differences: exit 0').toBe(0);
  });

  it('lists every problem of an invalid stack with its line, and runs nothing', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: infra.dev/v1alpha1\nkind: Stack\ngitops:\n  apps:\n    - name: x\n      source: nope\n      drift: maybe\n');
    const r = await runInfra(['reconcile', '-f', bad], process.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('gitops.apps[0].source: no source named "nope" (sources: none) (');
    expect(r.stderr).toMatch(/gitops\.apps\[0\]\.drift: expected correct or detect, got "maybe" \(.*bad\.yaml:7\)/);
  });

  it('exits non-zero when an app fails', async () => {
    await repo.commit({ 'app/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cli-app\ndata: [\n' });
    const plan = await runInfra(['diff', '-f', stackFile], process.env);
    expect(plan.code, 'diff could not plan (a YAML error): exit 2, never 0 or 1').toBe(2);
    expect(plan.stdout).toContain('cli-app on test-1: cannot plan: RenderFailed');
    const r = await runInfra(['reconcile', '-f', stackFile], process.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cli-app\s+test-1\s+\S+\s+Failed\s+Healthy\s+RenderFailed: app\/cm\.yaml:\d+: invalid YAML/);
  });
});
