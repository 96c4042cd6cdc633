import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { readRecord } from '../../reconciler/status/app-record.ts';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { applyAs, deleteIfPresent } from '../harness/kube-admin.ts';
import { byCluster, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';

/**
 * An admission webhook whose Service has no backend: AdmissionWebhookFailed on that cluster and
 * object, written to the record at once, retried with backoff; apps that do not depend on it go on.
 */

let repo: GitFixture;
const [hooked, plain] = testClusters() as [TestCluster, TestCluster];
const WEBHOOK_PATH = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/infra-test-no-backend';

beforeAll(async () => {
  repo = await GitFixture.create();
  for (const c of testClusters()) {
    await applyAs(c, '/api/v1/namespaces/guarded', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'guarded', labels: c === hooked ? { 'infra-test/webhook': 'on' } : {} } });
  }
  await applyAs(hooked, '/api/v1/namespaces/default/services/no-backend', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'no-backend', namespace: 'default' },
    spec: { selector: { app: 'nothing-runs-this' }, ports: [{ port: 443 }] },
  });
  await applyAs(hooked, WEBHOOK_PATH, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'infra-test-no-backend' },
    webhooks: [{
      name: 'check.infra-test.dev',
      clientConfig: { service: { namespace: 'default', name: 'no-backend', port: 443, path: '/validate' } },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['configmaps'] }],
      namespaceSelector: { matchLabels: { 'infra-test/webhook': 'on' } },
      failurePolicy: 'Fail',
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      timeoutSeconds: 5,
    }],
  });
});
afterAll(async () => {
  await deleteIfPresent(hooked, WEBHOOK_PATH);
  repo.remove();
});

const cm = (name: string, namespace: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  v: "1"\n`;

async function recordOn(cluster: TestCluster, app: string) {
  const client = new KubeClient(cluster.name, cluster.kubeconfig);
  try {
    return await readRecord(client, app);
  } finally {
    client.close();
  }
}

describe('an admission webhook with no backend', () => {
  it('is AdmissionWebhookFailed on that cluster and object, recorded at once, and holds back no app that does not depend on it', async () => {
    const commit = await repo.commit({ 'gated/cm.yaml': cm('gated-cm', 'guarded'), 'base/cm.yaml': cm('base-cm', 'default'), 'later/cm.yaml': cm('later-cm', 'default') });
    const everywhere = { selector: { matchLabels: {} } };
    const stack = stackFor(repo.dir, [
      { name: 'gated', path: 'gated', targets: everywhere },
      { name: 'base', path: 'base', targets: everywhere },
      { name: 'later', path: 'later', targets: everywhere, dependsOn: ['base'] },
    ]);

    // A virtual clock: the retry window passes in a few sleeps, and the first sleep is where we
    // look at what the clusters say while the gated app is still being retried.
    let now = 0;
    let seen: { recorded?: string; laterSynced?: boolean } | undefined;
    const backoff = {
      baseMs: 500,
      maxMs: 2_000,
      random: () => 1,
      now: () => now,
      sleep: async (ms: number) => {
        if (!seen) {
          const laterSynced = await waitFor(async () => ((await recordOn(hooked, 'later')).status?.revision === commit ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
          seen = { laterSynced: laterSynced === true, ...((await recordOn(hooked, 'gated')).status?.error?.reason ? { recorded: (await recordOn(hooked, 'gated')).status?.error?.reason } : {}) };
        }
        now += ms;
      },
    };
    const statuses = await reconcileOnce(stack, { backoff, retryForMs: 5_000 });

    expect(seen, 'the gated app was retried').toBeDefined();
    expect(seen?.recorded, 'the record says why at once').toBe('AdmissionWebhookFailed');
    expect(seen?.laterSynced, 'an app of a later wave that does not depend on it went on').toBe(true);

    const gated = byCluster(statuses, 'gated');
    expect(gated.get(plain.name)).toMatchObject({ sync: 'Synced', revision: commit });
    expect(gated.get(hooked.name)).toMatchObject({ sync: 'Failed', error: { reason: 'AdmissionWebhookFailed', where: `cluster ${hooked.name}: ConfigMap guarded/gated-cm` } });
    expect(gated.get(hooked.name)?.error?.message).toMatch(/webhook "check\.infra-test\.dev"/);
    expect((await recordOn(hooked, 'gated')).status?.error?.reason).toBe('AdmissionWebhookFailed');
    for (const c of testClusters()) expect(byCluster(statuses, 'later').get(c.name)).toMatchObject({ sync: 'Synced' });
  });
});
