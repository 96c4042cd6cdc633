import type { KubeClient } from '../kube-client.ts';
import { ClusterUnreachableError, KubeApiError } from '../errors.ts';
import { isAbort } from '../../stacks/errors.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, type ProbeResult } from './types.ts';

/**
 * One health probe of one cluster: GET /readyz, then a round-trip write (renew the Lease
 * `infra-system/infra-probe`, creating it and the namespace when missing) — an apiserver can
 * answer /readyz while its storage refuses writes. The whole probe has one deadline; running
 * out of it means "no answer" (Unknown), an error status means "answered but failing" (NotReady).
 */

export const PROBE_NAMESPACE = 'infra-system';
export const PROBE_LEASE = 'infra-probe';

const READYZ = '/readyz?exclude=etcd&exclude=etcd-readiness';

export type ProbeClient = Pick<KubeClient, 'cluster' | 'request'>;

export interface ProbeOptions {
  readonly timeoutMs?: number;
  /** Who renews the Lease (the serve replica's identity); shows in holderIdentity. */
  readonly identity?: string;
  readonly now?: () => number;
}

export async function probeCluster(client: ProbeClient, signal?: AbortSignal, options: ProbeOptions = {}): Promise<ProbeResult> {
  signal?.throwIfAborted();
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const probeSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let answered = false;
  let step = 'GET /readyz';
  try {
    // etcd's own checks are left to the write below: with etcd down /readyz takes ~4 s to say so (its
    // etcd check timeouts), longer than a probe may; the write fails inside the deadline instead.
    await client.request<string>('GET', READYZ, { text: true, signal: probeSignal, timeoutMs });
    answered = true;
    step = `renew Lease ${PROBE_NAMESPACE}/${PROBE_LEASE}`;
    await renewProbeLease(client, probeSignal, timeoutMs, options.identity ?? 'infra', (options.now ?? Date.now)());
    return { ok: true, answered: true, latencyMs: elapsed() };
  } catch (err) {
    if (signal?.aborted) throw err;
    if (err instanceof KubeApiError) return { ok: false, answered: true, latencyMs: elapsed(), error: `${step}: ${err.status} ${err.apiReason}` };
    const timedOut = deadline.aborted || isAbort(err);
    const why = timedOut ? `no answer within ${timeoutMs} ms` : err instanceof ClusterUnreachableError ? err.message : (err as Error).message;
    // /readyz answered, the write did not: the apiserver is up but cannot serve writes.
    return { ok: false, answered, latencyMs: elapsed(), error: answered ? `${step}: ${why}` : why };
  }
}

async function renewProbeLease(client: ProbeClient, signal: AbortSignal, timeoutMs: number, identity: string, now: number): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${PROBE_NAMESPACE}/leases/${PROBE_LEASE}`;
  const renewTime = new Date(now).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const spec = { holderIdentity: identity, renewTime, leaseDurationSeconds: 60 };
  try {
    // A merge patch, not a CAS: replicas probing the same cluster each prove a write, none needs to win.
    await client.request('PATCH', path, { body: { spec }, contentType: 'application/merge-patch+json', signal, timeoutMs });
    return;
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
  await ensureNamespace(client, signal, timeoutMs);
  const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: PROBE_LEASE, namespace: PROBE_NAMESPACE, labels: { 'app.kubernetes.io/managed-by': 'infra' } }, spec };
  try {
    await client.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${PROBE_NAMESPACE}/leases`, { body: lease, signal, timeoutMs });
  } catch (err) {
    // Another replica created it between our patch and our create: its write proves the same.
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    await client.request('PATCH', path, { body: { spec }, contentType: 'application/merge-patch+json', signal, timeoutMs });
  }
}

async function ensureNamespace(client: ProbeClient, signal: AbortSignal, timeoutMs: number): Promise<void> {
  try {
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROBE_NAMESPACE } }, signal, timeoutMs });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
  }
}
