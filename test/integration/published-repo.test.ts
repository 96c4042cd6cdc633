import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { fixtureFiles } from '../harness/fixture-files.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { deleteIfPresent } from '../harness/kube-admin.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';
import { crdYaml } from '../harness/crd-fixture.ts';

/**
 * Issue 8's acceptance: one repository shaped like the ones people publish — a Helm chart with
 * `kubeVersion`, test and install hooks and `${...}` in a script; a Kustomize overlay; an
 * operator whose admission webhook has no backend; CRDs with their CRs — synced unchanged to two
 * clusters. Every cell of the status is true: Healthy where it is, the exact reason where not.
 */

let repo: GitFixture;
const two = testClusters().slice(0, 2) as [TestCluster, TestCluster];
const WEBHOOK_PATH = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/widget-operator';

const OPERATOR = `${crdYaml('shop.infra.dev', 'Widget', { size: 'integer' })}---
apiVersion: v1
kind: Namespace
metadata:
  name: widget-operator
---
apiVersion: v1
kind: Service
metadata:
  name: webhook
  namespace: widget-operator
spec:
  selector: {app: widget-operator}
  ports:
    - port: 443
      targetPort: 9443
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: widget-operator
webhooks:
  - name: widgets.shop.infra.dev
    clientConfig:
      service: {namespace: widget-operator, name: webhook, path: /validate}
    rules:
      - apiGroups: [shop.infra.dev]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [widgets]
    failurePolicy: Fail
    sideEffects: None
    admissionReviewVersions: [v1]
    timeoutSeconds: 5
---
apiVersion: shop.infra.dev/v1
kind: Widget
metadata:
  name: sample
  namespace: widget-operator
spec:
  size: 3
`;

const SCHEDULES = crdYaml('shop.infra.dev', 'Schedule', { cron: 'string' });

const NIGHTLY = `apiVersion: shop.infra.dev/v1
kind: Schedule
metadata:
  name: nightly
spec:
  cron: "0 3 * * *"
`;

beforeAll(async () => {
  repo = await GitFixture.create();
  await repo.commit({
    ...(await fixtureFiles('render/chart', 'chart')),
    ...(await fixtureFiles('render/kz', 'kz')),
    'operator/operator.yaml': OPERATOR,
    'schedules/crd.yaml': SCHEDULES,
    'schedules/nightly.yaml': NIGHTLY,
  });
});
afterAll(async () => {
  for (const c of two) await deleteIfPresent(c, WEBHOOK_PATH);
  repo.remove();
});

describe('a repository as published', () => {
  it('syncs to two clusters with no edits, and its status is true in every cell', async () => {
    const targets = { clusters: two.map((c) => c.name) };
    const labels = Object.fromEntries(two.map((c) => [c.name, { region: 'eu-west' }]));
    const stack = stackFor(repo.dir, [
      { name: 'storefront', path: 'chart', namespace: 'storefront', createNamespace: true, helm: { releaseName: 'storefront', valuesFiles: ['values-eu.yaml'] }, targets },
      { name: 'overlay', path: 'kz/overlay', namespace: 'overlay', createNamespace: true, variables: { tier: 'gold' }, targets },
      { name: 'widgets', path: 'operator', targets },
      { name: 'schedules', path: 'schedules', namespace: 'default', targets },
    ], labels);
    // The webhook never answers: retried on a virtual clock (the retry window passes at once).
    let now = 0;
    const backoff = { baseMs: 500, maxMs: 2_000, random: () => 1, now: () => now, sleep: async (ms: number) => void (now += ms) };
    const statuses = await reconcileOnce(stack, { backoff, retryForMs: 5_000 });
    const cell = (app: string, c: TestCluster) => byCluster(statuses, app).get(c.name);

    for (const c of two) {
      for (const app of ['storefront', 'overlay', 'schedules']) {
        expect(cell(app, c), `${app} on ${c.name}: ${JSON.stringify(cell(app, c))}`).toMatchObject({ sync: 'Synced', health: 'Healthy' });
      }
      expect(cell('widgets', c), JSON.stringify(cell('widgets', c))).toMatchObject({
        sync: 'Failed',
        error: { reason: 'AdmissionWebhookFailed', where: `cluster ${c.name}: Widget widget-operator/sample` },
      });
      expect(cell('widgets', c)?.health).not.toBe('Healthy');
      // What is there is what the repository says, untouched where infra has no business.
      const script = (await readObject(c, 'v1', 'ConfigMap', 'prod-worker', 'overlay')) as { data?: Record<string, string> } | undefined;
      expect(script?.data?.['run.sh']).toBe('#!/bin/sh\nexec worker --home "$HOME" --id "${1}"\n');
      expect(await readObject(c, 'shop.infra.dev/v1', 'Schedule', 'nightly', 'default')).toBeDefined();
      expect(await readObject(c, 'apps/v1', 'Deployment', 'storefront-web', 'storefront')).toBeDefined();
    }
    expect(statuses).toHaveLength(8);
  });
});
