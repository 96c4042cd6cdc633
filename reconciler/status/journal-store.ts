import { KubeApiError } from '../../clusters/errors.ts';
import type { KubeClient } from '../../clusters/kube-client.ts';
import { PREFIX } from '../../stacks/gitops.ts';
import { RECORD_LABEL, SYSTEM_NAMESPACE } from './app-record.ts';

/**
 * Where the intent journal lives: one ConfigMap per cluster (`infra-system/infra-journal`), one
 * data key per app holding the objects that app was about to create when the entry was written.
 * Entries are merged in and removed with JSON merge patches, key by key, so two infra processes
 * working on different apps of the same cluster never overwrite each other's entries.
 */

export const JOURNAL_NAME = 'infra-journal';

/** An object an app may have created without its record tracking it yet. */
export interface PendingObject {
  readonly key: string;
  readonly apiVersion: string;
}

interface ConfigMap {
  data?: Record<string, string>;
}

const PATH = `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps`;

/** The journal's entries by app; an absent journal is empty. Entries that do not parse are skipped. */
export async function readJournal(client: KubeClient, signal?: AbortSignal): Promise<Map<string, PendingObject[]>> {
  let cm: ConfigMap;
  try {
    cm = await client.request<ConfigMap>('GET', `${PATH}/${JOURNAL_NAME}`, { signal });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return new Map();
    throw err;
  }
  const out = new Map<string, PendingObject[]>();
  for (const [app, text] of Object.entries(cm.data ?? {})) {
    const objects = decodeEntry(text);
    if (objects) out.set(app, objects);
  }
  return out;
}

/** `[[apiVersion, key], ...]`: compact, since a batch of apps shares one object of at most 1 MiB. */
export function encodeEntry(objects: readonly PendingObject[]): string {
  return JSON.stringify(objects.map((o) => [o.apiVersion, o.key]));
}

export function decodeEntry(text: string): PendingObject[] | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return undefined;
    return parsed
      .filter((x): x is [string, string] => Array.isArray(x) && typeof x[0] === 'string' && typeof x[1] === 'string')
      .map(([apiVersion, key]) => ({ apiVersion, key }));
  } catch {
    return undefined;
  }
}

/** Sets (string) or removes (null) entries in one write; creates the journal and its namespace on first use. */
export async function patchJournal(client: KubeClient, changes: ReadonlyMap<string, string | null>, signal?: AbortSignal): Promise<void> {
  const data = Object.fromEntries(changes);
  const patch = () =>
    client.request('PATCH', `${PATH}/${JOURNAL_NAME}`, { body: { data }, contentType: 'application/merge-patch+json', signal });
  try {
    await patch();
    return;
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
  const sets = Object.fromEntries([...changes].filter((c): c is [string, string] => c[1] !== null));
  if (Object.keys(sets).length === 0) return; // only removals, and there is no journal: nothing to remove
  const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: JOURNAL_NAME, labels: { [RECORD_LABEL]: 'journal', [`${PREFIX}/journal`]: 'intents' } }, data: sets };
  const create = () => client.request('POST', PATH, { body, signal });
  try {
    await create();
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 409) return patch().then(() => undefined); // made by another process meanwhile
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NAMESPACE } }, signal }).catch((e: unknown) => {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
    });
    await create().catch(async (e: unknown) => {
      if (!(e instanceof KubeApiError && e.status === 409)) throw e;
      await patch();
    });
  }
}
