import { KubeApiError } from '../../clusters/errors.ts';
import type { KubeClient } from '../../clusters/kube-client.ts';
import { PREFIX } from '../../stacks/gitops.ts';
import { EMPTY_INVENTORY, type Inventory } from '../inventory/inventory.ts';
import type { AppStatus } from '../types.ts';

/**
 * Where an app's inventory and status live: a ConfigMap per app in the target cluster's
 * `infra-system` namespace, so the reconciler can die at any moment and lose nothing.
 * Written only when something changed: a no-op reconcile writes nothing.
 */

export const SYSTEM_NAMESPACE = 'infra-system';
export const RECORD_LABEL = `${PREFIX}/record`;
const FIELD_MANAGER = 'infra-record';

export interface AppRecord {
  readonly inventory: Inventory;
  readonly status?: AppStatus;
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
  return parseRecord(cm);
}

/** The app records of a cluster by app name (those `keep` accepts: a round keeps its own apps'). */
export async function listRecordsByApp(client: KubeClient, signal?: AbortSignal, keep: (app: string) => boolean = () => true): Promise<Map<string, AppRecord>> {
  const out = new Map<string, AppRecord>();
  await forEachRecord(client, signal, (app, cm) => {
    if (keep(app)) out.set(app, parseRecord(cm));
  });
  return out;
}

async function listRecordsWithNames(client: KubeClient, signal?: AbortSignal): Promise<{ app: string; record: AppRecord }[]> {
  const out: { app: string; record: AppRecord }[] = [];
  await forEachRecord(client, signal, (app, cm) => void out.push({ app, record: parseRecord(cm) }));
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

function parseRecord(cm: ConfigMap): AppRecord {
  const inventory = cm.data?.['inventory'] ? (JSON.parse(cm.data['inventory']) as Inventory) : EMPTY_INVENTORY;
  const status = cm.data?.['status'] ? (JSON.parse(cm.data['status']) as AppStatus) : undefined;
  return { inventory, ...(status ? { status } : {}) };
}

/** All app records of a cluster (for `infra status`). */
export async function listRecords(client: KubeClient, signal?: AbortSignal): Promise<AppRecord[]> {
  return (await listRecordsWithNames(client, signal)).map((r) => r.record);
}

export async function writeRecord(client: KubeClient, app: string, record: AppRecord, signal?: AbortSignal): Promise<void> {
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: recordName(app), namespace: SYSTEM_NAMESPACE, labels: { [RECORD_LABEL]: 'app', [`${PREFIX}/app-record`]: app } },
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
