import { randomBytes } from 'node:crypto';
import { KubeApiError } from '../../clusters/errors.ts';
import type { KubeClient } from '../../clusters/kube-client.ts';
import { SYSTEM_NAMESPACE } from './app-record.ts';

/**
 * The key inventory digests are keyed with (HMAC), kept as a Secret in the target cluster.
 * Inventories sit in ConfigMaps; a plain hash of a Secret manifest there would let anyone who can
 * read ConfigMaps test guesses of a weak secret offline. One read per round; made once.
 */

const NAME = 'infra-digest-key';

export async function digestKey(client: KubeClient, signal?: AbortSignal): Promise<Buffer> {
  const path = `/api/v1/namespaces/${SYSTEM_NAMESPACE}/secrets/${NAME}`;
  try {
    const s = await client.request<{ data?: { key?: string } }>('GET', path, { signal });
    if (s.data?.key) return Buffer.from(s.data.key, 'base64');
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
  const body = { apiVersion: 'v1', kind: 'Secret', metadata: { name: NAME, namespace: SYSTEM_NAMESPACE }, type: 'Opaque', data: { key: randomBytes(32).toString('base64') } };
  const create = () => client.request('POST', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/secrets`, { body, signal });
  try {
    await create();
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) {
      await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NAMESPACE } }, signal }).catch((e: unknown) => {
        if (!(e instanceof KubeApiError && e.status === 409)) throw e;
      });
      await create().catch((e: unknown) => {
        if (!(e instanceof KubeApiError && e.status === 409)) throw e;
      });
    } else if (!(err instanceof KubeApiError && err.status === 409)) {
      throw err;
    }
  }
  // Read back: if another process created it first, theirs is the key.
  const s = await client.request<{ data?: { key?: string } }>('GET', path, { signal });
  return Buffer.from(s.data?.key ?? '', 'base64');
}
