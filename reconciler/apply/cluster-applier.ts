import { Discovery, resourcePath, type ResourceInfo } from '../../clusters/discovery.ts';
import { AdmissionWebhookError, KubeApiError } from '../../clusters/errors.ts';
import type { KubeClient } from '../../clusters/kube-client.ts';
import { describeObject, type KubeObject } from '../types.ts';
import { APP_LABEL, FIELD_MANAGER } from './object-policy.ts';

/**
 * The effects of applying to one cluster: server-side apply (dry-run or real), reads,
 * metadata lists and deletes, each addressed through discovery.
 */

interface MetaList {
  items?: { metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: unknown[] } }[];
  metadata?: { continue?: string };
}

const PARTIAL_LIST = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json;q=0.9';

export class ClusterApplier {
  readonly client: KubeClient;
  readonly discovery: Discovery;

  constructor(client: KubeClient) {
    this.client = client;
    this.discovery = new Discovery(client);
  }

  async info(obj: KubeObject, signal?: AbortSignal): Promise<ResourceInfo | undefined> {
    return this.discovery.resourceFor(obj.apiVersion, obj.kind, signal);
  }

  /** Server-side apply with our field manager; `dryRun` validates strictly and writes nothing. */
  async apply(info: ResourceInfo, obj: KubeObject, options: { dryRun: boolean; force: boolean; signal?: AbortSignal }): Promise<KubeObject> {
    try {
      return await this.applyPatch(info, obj, options);
    } catch (err) {
      throw err instanceof AdmissionWebhookError ? err.about(describeObject(obj)) : err;
    }
  }

  private applyPatch(info: ResourceInfo, obj: KubeObject, options: { dryRun: boolean; force: boolean; signal?: AbortSignal }): Promise<KubeObject> {
    return this.client.request<KubeObject>('PATCH', resourcePath(info, obj.metadata.namespace, obj.metadata.name), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: {
        fieldManager: FIELD_MANAGER,
        fieldValidation: 'Strict',
        force: String(options.force),
        ...(options.dryRun ? { dryRun: 'All' } : {}),
      },
      signal: options.signal,
    });
  }

  async get(info: ResourceInfo, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<KubeObject | undefined> {
    try {
      return await this.client.request<KubeObject>('GET', resourcePath(info, namespace, name), { signal });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Metadata of every object of a resource that carries `selector`, across namespaces, paged. */
  async listMeta(info: ResourceInfo, selector: string, signal?: AbortSignal, namespace?: string): Promise<NonNullable<MetaList['items']>> {
    const out: NonNullable<MetaList['items']> = [];
    await this.forEachMeta(info, selector, (item) => void out.push(item), signal, namespace);
    return out;
  }

  /**
   * Like `listMeta`, one page (500) at a time: `each` keeps what it needs of an item, and the
   * page (with its managed fields) is garbage before the next is read — a hundred thousand
   * objects never sit in memory as full metadata at once.
   */
  async forEachMeta(info: ResourceInfo, selector: string, each: (item: NonNullable<MetaList['items']>[number]) => void, signal?: AbortSignal, namespace?: string): Promise<void> {
    let cont: string | undefined;
    do {
      const page = await this.client.request<MetaList>('GET', resourcePath(info, namespace), {
        accept: PARTIAL_LIST,
        query: { labelSelector: selector || undefined, limit: '500', continue: cont },
        signal,
      });
      for (const item of page.items ?? []) each(item);
      cont = page.metadata?.continue || undefined;
    } while (cont);
  }

  /** Every object of a resource that carries `selector`, across namespaces, a page at a time (pages are not kept). */
  async forEachObject(info: ResourceInfo, selector: string, visit: (obj: KubeObject) => void, signal?: AbortSignal): Promise<void> {
    let cont: string | undefined;
    do {
      const page = await this.client.request<{ items?: KubeObject[]; metadata?: { continue?: string } }>('GET', resourcePath(info), {
        query: { labelSelector: selector || undefined, limit: '500', continue: cont },
        signal,
      });
      for (const item of page.items ?? []) visit({ ...item, apiVersion: item.apiVersion ?? (info.group ? `${info.group}/${info.version}` : info.version), kind: item.kind ?? info.kind });
      cont = page.metadata?.continue || undefined;
    } while (cont);
  }

  async delete(info: ResourceInfo, namespace: string | undefined, name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.request('DELETE', resourcePath(info, namespace, name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
        signal,
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return;
      throw err;
    }
  }

  /** Objects in `namespace` that are not ours, have no owner and are not made by Kubernetes itself. */
  async foreignObjectsIn(namespace: string, app: string, signal?: AbortSignal): Promise<number> {
    let count = 0;
    for (const info of (await this.discovery.all('list', signal)).filter((r) => r.namespaced)) {
      if (info.kind === 'Event' || info.group === 'events.k8s.io') continue;
      try {
        const items = await this.listMeta(info, `${APP_LABEL}!=${app}`, signal, namespace);
        count += items.filter((i) => !i.metadata.ownerReferences?.length && !SYSTEM_DEFAULTS.has(`${info.kind}/${i.metadata.name}`)).length;
      } catch (err) {
        // 503: an aggregated API with no backend cannot hold objects we could count anyway.
        if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 405 || err.status === 403 || err.status === 503))) throw err;
      }
    }
    return count;
  }
}

/** Objects Kubernetes puts in every namespace by itself. */
const SYSTEM_DEFAULTS = new Set(['ConfigMap/kube-root-ca.crt', 'ServiceAccount/default']);
