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
import { adminRequest, deleteIfPresent, limitedKubeconfig } from '../harness/kube-admin.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/** An error belongs to the cluster where it happened, under its own name; the other clusters go on. */

let repo: GitFixture;
let dir: string;
const [left, right] = testClusters() as [TestCluster, TestCluster];
beforeAll(async () => {
  repo = await GitFixture.create();
  dir = mkdtempSync(join(tmpdir(), 'infra-cluster-errors-'));
});
afterAll(() => {
  repo.remove();
  rmSync(dir, { recursive: true, force: true });
});

const everywhere = { selector: { matchLabels: {} } };
const withKubeconfig = (stack: StackSpec, cluster: string, kubeconfig: string): StackSpec => ({
  ...stack,
  clusters: stack.clusters.map((c) => (c.name === cluster ? { ...c, kubeconfig } : c)),
});
const cm = (name: string, namespace = 'default') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  v: "1"\n`;
const service = (ports: { name: string; port: number }[]) => `apiVersion: v1
kind: Service
metadata:
  name: merge-svc
  namespace: default
spec:
  selector: {app: merge}
  ports:
${ports.map((p) => `    - {name: ${p.name}, port: ${p.port}}`).join('\n')}
`;

async function recordOn(cluster: TestCluster, app: string) {
  const client = new KubeClient(cluster.name, cluster.kubeconfig);
  try {
    return await readRecord(client, app);
  } finally {
    client.close();
  }
}

describe('errors on the cluster where they happen', () => {
  it('a hand edit that does not merge with Git is a conflict on that cluster, naming the field managers, not a broken commit', async () => {
    const stack = stackFor(repo.dir, [{ name: 'merge', path: 'merge', drift: 'detect', targets: everywhere }]);
    await repo.commit({ 'merge/svc.yaml': service([{ name: 'web', port: 80 }]) });
    expect([...byCluster(await reconcileOnce(stack), 'merge').values()].map((s) => s.sync)).toEqual(testClusters().map(() => 'Synced'));

    // By hand, on one cluster: a port named metrics. Then Git adds its own port named metrics.
    await adminRequest(left, 'PATCH', '/api/v1/namespaces/default/services/merge-svc', { spec: { ports: [{ name: 'metrics', port: 9090 }] } }, 'application/strategic-merge-patch+json', { fieldManager: 'kubectl-edit' });
    const commit = await repo.commit({ 'merge/svc.yaml': service([{ name: 'web', port: 80 }, { name: 'metrics', port: 9091 }]) });
    const statuses = byCluster(await reconcileOnce(stack), 'merge');
    expect(statuses.get(right.name)).toMatchObject({ sync: 'Synced', revision: commit, lastAppliedRevision: commit });
    const l = statuses.get(left.name);
    expect(l).toMatchObject({ sync: 'Failed', error: { reason: 'Conflict', where: `cluster ${left.name}: Service default/merge-svc` } });
    expect(l?.error?.message).toMatch(/kubectl-edit \(Update\)/);
    expect(l?.error?.message).toMatch(/Duplicate value/);
    expect((await recordOn(left, 'merge')).status?.error?.reason).toBe('Conflict');
  });

  it('403 is Forbidden on the cluster whose credentials lack the right, and only there', async () => {
    const kubeconfig = await limitedKubeconfig(right, dir);
    await repo.commit({ 'fb/cm.yaml': cm('fb-cm') });
    const stack = withKubeconfig(stackFor(repo.dir, [{ name: 'fb', path: 'fb', targets: everywhere }]), right.name, kubeconfig);
    const statuses = byCluster(await reconcileOnce(stack), 'fb');
    expect(statuses.get(left.name)).toMatchObject({ sync: 'Synced' });
    expect(statuses.get(right.name)).toMatchObject({ sync: 'Failed', error: { reason: 'Forbidden', where: `cluster ${right.name}: ConfigMap default/fb-cm` } });
    expect(statuses.get(right.name)?.error?.message).toMatch(/forbidden/i);
    expect(await readObject(left, 'v1', 'ConfigMap', 'fb-cm', 'default')).toBeDefined();
  });

  it('a missing kubeconfig is KubeconfigInvalid naming the path, and the other clusters sync', async () => {
    await repo.commit({ 'kc/cm.yaml': cm('kc-cm') });
    const missing = join(dir, 'nowhere', 'kubeconfig');
    const stack = withKubeconfig(stackFor(repo.dir, [{ name: 'kc', path: 'kc', targets: everywhere }]), right.name, missing);
    const statuses = byCluster(await reconcileOnce(stack), 'kc');
    expect(statuses.get(left.name)).toMatchObject({ sync: 'Synced' });
    expect(statuses.get(right.name)).toMatchObject({ sync: 'Failed', error: { reason: 'KubeconfigInvalid' } });
    expect(statuses.get(right.name)?.error?.message).toContain(missing);
    expect(statuses.get(right.name)?.error?.message).not.toMatch(/apiserver runs/);
  });

  it('a corrupt record is StateCorrupt on its cluster, left as it is, and nothing else stops', async () => {
    await repo.commit({ 'rot/cm.yaml': cm('rot-cm'), 'fine/cm.yaml': cm('fine-cm') });
    const stack = stackFor(repo.dir, [{ name: 'rot', path: 'rot', targets: everywhere }, { name: 'fine', path: 'fine', targets: everywhere }]);
    await reconcileOnce(stack);
    // A record cut short (a hand edit, a bad restore): its inventory no longer parses.
    await adminRequest(right, 'PATCH', '/api/v1/namespaces/infra-system/configmaps/infra-app-rot', { data: { inventory: '{"revision": "x", "entries": [trunc' } }, 'application/merge-patch+json');
    const statuses = await reconcileOnce(stack);
    expect(byCluster(statuses, 'rot').get(left.name)).toMatchObject({ sync: 'Synced' });
    expect(byCluster(statuses, 'fine').get(right.name)).toMatchObject({ sync: 'Synced' });
    const rot = byCluster(statuses, 'rot').get(right.name);
    expect(rot).toMatchObject({ sync: 'Failed', error: { reason: 'StateCorrupt' } });
    expect(rot?.error?.message).toMatch(/ConfigMap infra-system\/infra-app-rot: data\.inventory is not JSON/);
    const stored = await adminRequest<{ data: Record<string, string> }>(right, 'GET', '/api/v1/namespaces/infra-system/configmaps/infra-app-rot');
    expect(stored.data['inventory']).toBe('{"revision": "x", "entries": [trunc');
    const client = new KubeClient(right.name, right.kubeconfig);
    try {
      const listed = (await listRecords(client)).map((r) => r.status).find((s) => s?.app === 'rot');
      expect(listed?.error?.reason).toBe('StateCorrupt');
    } finally {
      client.close();
    }
    await deleteIfPresent(right, '/api/v1/namespaces/infra-system/configmaps/infra-app-rot');
  });
});
