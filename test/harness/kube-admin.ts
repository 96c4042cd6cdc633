import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { KubeClient } from '../../clusters/kube-client.ts';
import type { TestCluster } from './environment-spec.ts';

/** Raw admin requests to a test cluster (apply, patch, delete), closed after each call. */
export async function adminRequest<T = unknown>(cluster: TestCluster, method: string, path: string, body?: unknown, contentType?: string, query: Record<string, string> = {}): Promise<T> {
  const client = new KubeClient(cluster.name, cluster.kubeconfig);
  try {
    return await client.request<T>(method, path, { ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}), query });
  } finally {
    client.close();
  }
}

/** Server-side apply of a whole object as the test's own field manager. */
export async function applyAs(cluster: TestCluster, path: string, body: unknown, manager = 'infra-test'): Promise<void> {
  await adminRequest(cluster, 'PATCH', path, body, 'application/apply-patch+yaml', { fieldManager: manager, force: 'true' });
}

/** Deletes an object; gone already is fine. */
/** Creates a namespace with the admin credentials and returns its name. */
export async function createNamespace(cluster: TestCluster, name: string): Promise<string> {
  await adminRequest(cluster, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

export async function deleteIfPresent(cluster: TestCluster, path: string): Promise<void> {
  try {
    await adminRequest(cluster, 'DELETE', path);
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
  }
}

/**
 * A kubeconfig for a service account that may read everything and write app records, but
 * in `default` do only `defaultNamespaceVerbs` to ConfigMaps (a real 403 from the apiserver's RBAC otherwise).
 */
export async function limitedKubeconfig(cluster: TestCluster, into: string, defaultNamespaceVerbs: readonly string[] = []): Promise<string> {
  const sa = 'infra-limited';
  await applyAs(cluster, '/api/v1/namespaces/infra-system', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'infra-system' } });
  await applyAs(cluster, `/api/v1/namespaces/default/serviceaccounts/${sa}`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'default' } });
  await applyAs(cluster, `/apis/rbac.authorization.k8s.io/v1/clusterroles/${sa}`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: sa },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
  });
  await applyAs(cluster, `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${sa}`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: sa },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'default' }],
  });
  await applyAs(cluster, `/apis/rbac.authorization.k8s.io/v1/namespaces/infra-system/roles/${sa}`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: sa, namespace: 'infra-system' },
    rules: [{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['*'] }],
  });
  await applyAs(cluster, `/apis/rbac.authorization.k8s.io/v1/namespaces/infra-system/rolebindings/${sa}`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: sa, namespace: 'infra-system' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'default' }],
  });
  if (defaultNamespaceVerbs.length > 0) {
    await applyAs(cluster, `/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/${sa}`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: sa, namespace: 'default' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: [...defaultNamespaceVerbs] }],
    });
    await applyAs(cluster, `/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/${sa}`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: sa, namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'default' }],
    });
  } else {
    await deleteIfPresent(cluster, `/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/${sa}`);
  }
  const token = await adminRequest<{ status: { token: string } }>(cluster, 'POST', `/api/v1/namespaces/default/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  const admin = parse(readFileSync(cluster.kubeconfig, 'utf8')) as { users: { name: string; user: Record<string, unknown> }[] } & Record<string, unknown>;
  const limited = { ...admin, users: admin.users.map((u) => ({ name: u.name, user: { token: token.status.token } })) };
  const path = join(into, `${cluster.name}-limited.kubeconfig`);
  writeFileSync(path, stringify(limited), { mode: 0o600 });
  return path;
}
