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
export async function deleteIfPresent(cluster: TestCluster, path: string): Promise<void> {
  try {
    await adminRequest(cluster, 'DELETE', path);
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
  }
}
