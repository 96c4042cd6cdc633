import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../../clusters/kube-client.ts';
import type { MoveRecord } from '../place/types.ts';
import { placementName, PLACEMENT_NAMESPACE } from './store.ts';

/**
 * A core/v1 Event per move in the management cluster, about the app's placement ConfigMap, so
 * `kubectl get events -n infra-system` shows failovers next to everything else.
 */
export async function recordMoveEvent(client: KubeClient, app: string, move: MoveRecord, namespace = PLACEMENT_NAMESPACE, signal?: AbortSignal): Promise<void> {
  const name = placementName(app);
  const at = new Date(move.at).toISOString();
  const reason = move.reason === 'failover' ? 'FailedOver' : move.reason === 'failback' ? 'FailedBack' : move.reason === 'purge' ? 'Purged' : 'Placed';
  await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
    body: {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${name}.${randomBytes(6).toString('hex')}`, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'ConfigMap', namespace, name },
      reason,
      message: `${app}: ${move.reason} ${move.from ?? '-'} → ${move.to ?? '-'}: ${move.detail}`,
      type: move.reason === 'failover' ? 'Warning' : 'Normal',
      source: { component: 'infra-serve' },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
    },
    ...(signal ? { signal } : {}),
  });
}
