import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../clusters/kube-client.ts';
import { KubeApiError } from '../../clusters/errors.ts';
import { waitFor } from '../../clusters/wait.ts';
import { parseStack } from '../../stacks/load.ts';
import { testClusters, waitDeploymentAvailable } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { adminRequest, deleteIfPresent } from '../harness/kube-admin.ts';
import { reconcileOnce, readObject } from '../harness/reconcile-helpers.ts';
import { ServeProcess } from '../harness/serve-process.ts';

/**
 * deploy/ as a user ships it: applied by infra itself (a Git source holding the manifests) to a
 * local cluster playing the management cluster. kwok plays the kubelets, so the Deployment's
 * pods become Running and Ready in kwok's fake way (no image is pulled, no container runs);
 * the service account and its RBAC are real, and are then used by a real `infra serve`.
 */

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

let management: TestCluster;
let target: TestCluster;
let repo: GitFixture;
let work: string;

/** A kubeconfig like deploy/30-config.yaml's: the CA, and the token from a file (as the kubelet projects it). */
async function asServiceAccount(token: string, into: string): Promise<string> {
  await writeFile(`${into}.token`, token, { mode: 0o600 });
  const admin = parse(await readFile(management.kubeconfig, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
  const cluster = admin.clusters[0]?.cluster ?? {};
  const kc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'management', cluster: { server: cluster['server'], 'certificate-authority-data': cluster['certificate-authority-data'] } }],
    users: [{ name: 'infra', user: { tokenFile: `${into}.token` } }],
    contexts: [{ name: 'management', context: { cluster: 'management', user: 'infra' } }],
    'current-context': 'management',
  };
  await writeFile(into, stringify(kc), { mode: 0o600 });
  return into;
}

async function status(client: KubeClient, method: string, path: string, body?: unknown): Promise<number> {
  try {
    await client.request(method, path, body === undefined ? {} : { body });
    return 200;
  } catch (err) {
    if (err instanceof KubeApiError) return err.status;
    throw err;
  }
}

beforeAll(async () => {
  [management, target] = testClusters() as [TestCluster, TestCluster];
  repo = await GitFixture.create();
  work = await mkdtemp(join(tmpdir(), 'infra-deploy-'));
  const files: Record<string, string> = {};
  for (const f of await readdir(DEPLOY)) if (f.endsWith('.yaml')) files[`deploy/${f}`] = await readFile(join(DEPLOY, f), 'utf8');
  files['apps/hello/cm.yaml'] = stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hello' }, data: { from: 'infra serve in the infra namespace' } });
  await repo.commit(files);
});

afterAll(async () => {
  await deleteIfPresent(management, '/api/v1/namespaces/infra');
  await deleteIfPresent(target, '/api/v1/namespaces/deploy-test/configmaps/hello');
  await repo?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('deploy/ manifests', () => {
  it('applied by infra to a management cluster: namespace, least RBAC, probes, service; its service account runs infra serve with Leases and nothing more', async () => {
    const stack = parseStack(
      'deploy-stack.yaml',
      stringify({
        apiVersion: 'infra.dev/v1alpha1',
        kind: 'Stack',
        metadata: { name: 'deploy-manifests' },
        clusters: [{ name: management.name, kubeconfig: management.kubeconfig }],
        gitops: { sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' } }], apps: [{ name: 'infra', source: 'repo', path: 'deploy', timeout: '60s', wait: false, targets: { clusters: [management.name] } }] },
      }),
    );
    const [applied] = await reconcileOnce(stack);
    expect(applied?.sync, JSON.stringify(applied?.error)).toBe('Synced');
    expect(applied?.objects).toBe(9); // Namespace, ServiceAccount, Role, RoleBinding, 2 ConfigMaps, Deployment, Service, PodDisruptionBudget

    // The Secrets a user creates by hand (never committed).
    await adminRequest(management, 'POST', '/api/v1/namespaces/infra/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'infra-metrics-token' }, stringData: { token: 'test-only-token' } });
    await adminRequest(management, 'POST', '/api/v1/namespaces/infra/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'infra-target-kubeconfigs' }, stringData: { 'prod-eu': 'kubeconfig of the target cluster' } });

    // kwok's fake kubelets run and ready the three pods.
    expect(await waitDeploymentAvailable(management, 'infra', 'infra', 60_000)).toBe(true);
    const deployment = (await readObject(management, 'apps/v1', 'Deployment', 'infra', 'infra')) as { spec: { template: { spec: { serviceAccountName: string; containers: { livenessProbe: { httpGet: { path: string } }; readinessProbe: { httpGet: { path: string } }; securityContext: { readOnlyRootFilesystem: boolean } }[]; securityContext: { runAsNonRoot: boolean } } } } };
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe('infra');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.containers[0]?.livenessProbe.httpGet.path).toBe('/healthz');
    expect(pod.containers[0]?.readinessProbe.httpGet.path).toBe('/readyz');
    const service = (await readObject(management, 'v1', 'Service', 'infra', 'infra')) as { spec: { ports: { port: number; targetPort: string }[] } };
    expect(service.spec.ports).toEqual([expect.objectContaining({ port: 80, targetPort: 'http' })]);
    expect(await readObject(management, 'policy/v1', 'PodDisruptionBudget', 'infra', 'infra')).toBeDefined();

    // The service account's real token: Leases in its namespace, nothing else.
    const token = await adminRequest<{ status: { token: string } }>(management, 'POST', '/api/v1/namespaces/infra/serviceaccounts/infra/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } });
    const kubeconfig = await asServiceAccount(token.status.token, join(work, 'sa.kubeconfig'));
    const sa = new KubeClient(management.name, kubeconfig);
    try {
      expect(await status(sa, 'GET', '/apis/coordination.k8s.io/v1/namespaces/infra/leases')).toBe(200);
      expect(await status(sa, 'GET', '/api/v1/namespaces/infra/secrets')).toBe(403);
      expect(await status(sa, 'GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases')).toBe(403);
      expect(await status(sa, 'GET', '/api/v1/namespaces/infra/configmaps')).toBe(403);
      expect(await status(sa, 'POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope' } })).toBe(403);
    } finally {
      sa.close();
    }

    // A real `infra serve` on that token holds every shard, applies to its target through the
    // target's own kubeconfig, and hands the Leases back on SIGTERM.
    const serveStack = join(work, 'serve.yaml');
    await writeFile(
      serveStack,
      stringify({
        apiVersion: 'infra.dev/v1alpha1',
        kind: 'Stack',
        metadata: { name: 'deploy-manifests-serve' },
        clusters: [{ name: target.name, kubeconfig: target.kubeconfig }],
        gitops: { sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' } }], apps: [{ name: 'hello', source: 'repo', path: 'apps/hello', namespace: 'deploy-test', createNamespace: true, targets: { clusters: [target.name] } }] },
      }),
    );
    const serve = ServeProcess.start(['-f', serveStack, '--management-kubeconfig', kubeconfig, '--lease-namespace', 'infra', '--identity', 'sa-replica'], { ...process.env, INFRA_CACHE_DIR: join(work, 'cache') });
    try {
      await waitFor(async () => (serve.lines.filter((l) => /^shard \d+: acquired/.test(String(l['msg']))).length === 16 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
      expect(serve.lines.filter((l) => /^shard \d+: acquired/.test(String(l['msg'])))).toHaveLength(16);
      const hello = await waitFor(async () => readObject(target, 'v1', 'ConfigMap', 'hello', 'deploy-test'), { timeoutMs: 60_000, intervalMs: 200 });
      expect(hello).toBeDefined();
    } finally {
      expect(await serve.stop('SIGTERM')).toBe(0);
    }
    const leases = await adminRequest<{ items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] }>(management, 'GET', '/apis/coordination.k8s.io/v1/namespaces/infra/leases');
    const shards = leases.items.filter((l) => l.metadata.name.startsWith('infra-shard-'));
    expect(shards).toHaveLength(16);
    expect(shards.filter((l) => l.spec.holderIdentity)).toEqual([]);
    expect(leases.items.filter((l) => l.metadata.name.startsWith('infra-member-'))).toEqual([]);
  });
});
