import type { KubeClient } from '../../clusters/kube-client.ts';
import { KubeApiError } from '../../clusters/errors.ts';

/**
 * coordination.k8s.io/v1 Leases in one namespace of the management cluster: one list, and
 * writes that always carry the resourceVersion they read (optimistic concurrency: a write
 * based on a stale read fails with 409 instead of overwriting another replica's hold).
 */

export const LEASE_KIND_LABEL = 'infra.dev/lease';

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** A write lost the optimistic-concurrency race: another replica changed the Lease first. */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && (err.status === 409 || (err.status === 422 && err.reason === 'AlreadyExists'));
}

export class LeaseStore {
  readonly client: KubeClient;
  readonly namespace: string;

  constructor(client: KubeClient, namespace: string) {
    this.client = client;
    this.namespace = namespace;
  }

  private path(name?: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  /** Every Lease of ours (shards and members) in one request. */
  async list(signal?: AbortSignal, timeoutMs?: number): Promise<Lease[]> {
    const out = await this.client.request<{ items?: Lease[] }>('GET', this.path(), {
      query: { labelSelector: LEASE_KIND_LABEL },
      ...(signal ? { signal } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    return out.items ?? [];
  }

  /** Creates the Lease; 409 (AlreadyExists) when another replica created it first. */
  create(lease: Lease, signal?: AbortSignal, timeoutMs?: number): Promise<Lease> {
    return this.client.request<Lease>('POST', this.path(), { body: lease, ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  /** Replaces the Lease if it still has `lease.metadata.resourceVersion`; 409 otherwise. */
  replace(lease: Lease, signal?: AbortSignal, timeoutMs?: number): Promise<Lease> {
    if (!lease.metadata.resourceVersion) throw new Error(`lease ${lease.metadata.name}: replace needs the resourceVersion it read`);
    return this.client.request<Lease>('PUT', this.path(lease.metadata.name), { body: lease, ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  async delete(name: string, resourceVersion: string, signal?: AbortSignal): Promise<void> {
    await this.client.request('DELETE', this.path(name), {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion } },
      ...(signal ? { signal } : {}),
    });
  }
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
