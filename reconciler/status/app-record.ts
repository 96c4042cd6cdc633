import { KubeApiError } from '../../clusters/errors.ts';
import type { KubeClient } from '../../clusters/kube-client.ts';
import { PREFIX } from '../../stacks/gitops.ts';
import { EMPTY_INVENTORY, type Inventory } from '../inventory/inventory.ts';
import type { AppStatus, StatusError } from '../types.ts';

/**
 * Where an app's inventory and status live: a ConfigMap per app in the target cluster's
 * `infra-system` namespace, so the reconciler can die at any moment and lose nothing.
 * Written only when something changed: a no-op reconcile writes nothing.
 */

export const SYSTEM_NAMESPACE = 'infra-system';
export const RECORD_LABEL = `${PREFIX}/record`;
/** The stack whose round wrote a record: only that stack prunes the app once it leaves the stack. */
export const STACK_LABEL = `${PREFIX}/stack`;
const FIELD_MANAGER = 'infra-record';

export interface AppRecord {
  readonly inventory: Inventory;
  readonly status?: AppStatus;
  /** The stack that wrote it (absent in records written before stacks were recorded). */
  readonly stack?: string;
  /** Why the stored record cannot be read; such a record is never overwritten by a round. */
  readonly corrupt?: string;
  /**
   * Set by a round of another stack than the one that wrote the record: the app of that name on this
   * cluster belongs to that stack, and this round never writes the record, applies or prunes for it.
   */
  readonly ownedBy?: string;
}

interface ConfigMap {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export function recordName(app: string): string {
  return `infra-app-${app}`;
}

export async function readRecord(client: KubeClient, app: string, signal?: AbortSignal): Promise<AppRecord> {
  let cm: ConfigMap;
  try {
    cm = await client.request<ConfigMap>('GET', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps/${recordName(app)}`, { signal });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return { inventory: EMPTY_INVENTORY };
    throw err;
  }
  return parseRecord(cm, app);
}

/** The app records of a cluster by app name (those `keep` accepts: a round keeps its own apps'). */
export async function listRecordsByApp(client: KubeClient, signal?: AbortSignal, keep: (app: string) => boolean = () => true): Promise<Map<string, AppRecord>> {
  const out = new Map<string, AppRecord>();
  await forEachRecord(client, signal, (app, cm) => {
    if (keep(app)) out.set(app, parseRecord(cm, app));
  });
  return out;
}

async function listRecordsWithNames(client: KubeClient, signal?: AbortSignal): Promise<{ app: string; record: AppRecord }[]> {
  const out: { app: string; record: AppRecord }[] = [];
  await forEachRecord(client, signal, (app, cm) => void out.push({ app, record: parseRecord(cm, app) }));
  return out;
}

/**
 * Paged (500 records a page) and handed over page by page: 20,000 records never sit in memory as
 * one response text and its parse tree at once, only as the compact records they become.
 */
async function forEachRecord(client: KubeClient, signal: AbortSignal | undefined, each: (app: string, cm: ConfigMap) => void): Promise<void> {
  let cont: string | undefined;
  try {
    do {
      const page: { items: ConfigMap[]; metadata?: { continue?: string } } = await client.request('GET', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps`, {
        query: { labelSelector: `${RECORD_LABEL}=app`, limit: String(RECORD_PAGE), continue: cont },
        signal,
      });
      for (const cm of page.items) each(cm.metadata.labels?.[`${PREFIX}/app-record`] ?? '', cm);
      cont = page.metadata?.continue || undefined;
    } while (cont);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return;
    throw err;
  }
}

const RECORD_PAGE = 500;

function parseRecord(cm: ConfigMap, app: string): AppRecord {
  const stack = cm.metadata.labels?.[STACK_LABEL];
  const base = stack ? { stack } : {};
  const field = <T>(name: string, valid: (v: unknown) => boolean): T | undefined => {
    const text = cm.data?.[name];
    if (!text) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error(`data.${name} is not JSON (${(err as Error).message})`);
    }
    if (!valid(value)) throw new Error(`data.${name} does not have the shape of an app ${name}`);
    return value as T;
  };
  try {
    const inventory = field<Inventory>('inventory', (v) => isObject(v) && Array.isArray(v['entries']) && v['entries'].every((e) => isObject(e) && typeof e['key'] === 'string')) ?? EMPTY_INVENTORY;
    const status = field<AppStatus>('status', (v) => isObject(v) && typeof v['sync'] === 'string');
    return { ...base, inventory, ...(status ? { status } : {}) };
  } catch (err) {
    return { ...base, inventory: EMPTY_INVENTORY, corrupt: `ConfigMap ${SYSTEM_NAMESPACE}/${recordName(app)}: ${(err as Error).message}` };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The status a corrupt record is shown with: what is wrong and how to rebuild it. */
/** The status of an app whose name another stack already uses on the cluster: nothing of it is touched. */
export function ownedByOtherStatus(app: string, cluster: string, stack: string, owner: string): AppStatus {
  return untouched(app, cluster, {
    reason: 'OwnedByOtherStack',
    message: `app "${app}" on this cluster belongs to stack "${owner}", not to stack "${stack}"; nothing was applied or pruned: rename the app in one of the stacks, or remove it from stack "${owner}" first (its objects are then pruned by that stack)`,
    where: `cluster ${cluster}: ConfigMap ${SYSTEM_NAMESPACE}/${recordName(app)}`,
  });
}

export function corruptStatus(app: string, cluster: string, corrupt: string): AppStatus {
  return untouched(app, cluster, {
    reason: 'StateCorrupt',
    message: `${corrupt}; infra will not overwrite it: delete it to rebuild it (owned objects are adopted again by their ${PREFIX}/app label, but objects that left Git meanwhile are no longer pruned)`,
    where: `cluster ${cluster}`,
  });
}

/** A Failed status for an app whose record a round leaves alone. */
function untouched(app: string, cluster: string, error: StatusError): AppStatus {
  return { app, cluster, revision: '', sync: 'Failed', health: 'Unknown', drifted: [], unhealthy: [], objects: 0, error };
}

/** All app records of a cluster (for `infra status`). */
export async function listRecords(client: KubeClient, signal?: AbortSignal): Promise<AppRecord[]> {
  return (await listRecordsWithNames(client, signal)).map((r) => (r.record.corrupt ? { ...r.record, status: corruptStatus(r.app, client.cluster, r.record.corrupt) } : r.record));
}

export async function deleteRecord(client: KubeClient, app: string, signal?: AbortSignal): Promise<void> {
  try {
    await client.request('DELETE', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps/${recordName(app)}`, { signal });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
}

export async function writeRecord(client: KubeClient, app: string, record: AppRecord, signal?: AbortSignal): Promise<void> {
  if (record.corrupt) throw new Error(`refusing to overwrite a corrupt record: ${record.corrupt}`);
  if (record.ownedBy) throw new Error(`refusing to take over the record of app ${app}, which belongs to stack ${record.ownedBy}`);
  const labels = { [RECORD_LABEL]: 'app', [`${PREFIX}/app-record`]: app, ...(record.stack ? { [STACK_LABEL]: record.stack } : {}) };
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: recordName(app), namespace: SYSTEM_NAMESPACE, labels },
    data: {
      inventory: JSON.stringify(record.inventory),
      ...(record.status ? { status: JSON.stringify(record.status) } : {}),
    },
  };
  const apply = () =>
    client.request('PATCH', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps/${recordName(app)}`, {
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: 'true' },
      signal,
    });
  try {
    await apply();
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    await client.request('PATCH', `/api/v1/namespaces/${SYSTEM_NAMESPACE}`, {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NAMESPACE } },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: 'true' },
      signal,
    });
    await apply();
  }
}
