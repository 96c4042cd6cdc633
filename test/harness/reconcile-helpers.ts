import { join } from 'node:path';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { reconcile, type ReconcileRequest } from '../../reconciler/reconcile.ts';
import type { AppStatus } from '../../reconciler/types.ts';
import type { StackSpec } from '../../stacks/load.ts';
import { clients, testEnvironment } from './environment.ts';
import type { TestCluster } from './environment-spec.ts';

/** One reconcile round with test-friendly defaults (short backoff, the run's own git and render cache). */
export async function reconcileOnce(stack: StackSpec, extra: Partial<ReconcileRequest> = {}): Promise<AppStatus[]> {
  return reconcile({ stack, cacheRoot: join(testEnvironment().infraHome, 'cache'), retryForMs: 30_000, ...extra });
}

/** Reads an object, or undefined if it does not exist. */
export async function readObject(cluster: TestCluster, apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubernetesObject | undefined> {
  const api = KubernetesObjectApi.makeApiClient(clients(cluster).kc);
  try {
    return await api.read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export function byCluster(statuses: readonly AppStatus[], app: string): Map<string, AppStatus> {
  return new Map(statuses.filter((s) => s.app === app).map((s) => [s.cluster, s]));
}
