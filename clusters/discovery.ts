import type { KubeClient } from './kube-client.ts';

/**
 * Which REST resource serves each kind, from aggregated discovery (two requests for the
 * whole API). Refreshed on a miss, since CRDs add kinds while we run.
 */

export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

interface DiscoveryList {
  items?: {
    metadata?: { name?: string };
    versions?: { version: string; resources?: { resource: string; scope: string; verbs?: string[]; responseKind?: { kind: string } }[] }[];
  }[];
}

/** What a cluster offers charts: its version and every group/version and group/version/Kind it serves (Helm's .Capabilities). */
export interface ClusterCapabilities {
  readonly kubeVersion: string;
  readonly apiVersions: readonly string[];
}

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;q=0.9';

export class Discovery {
  private readonly client: KubeClient;
  private byGvk = new Map<string, ResourceInfo>();
  private loaded: Promise<void> | undefined;
  private version: Promise<string> | undefined;

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** The resource for apiVersion + kind, or undefined if the cluster does not serve it. */
  async resourceFor(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceInfo | undefined> {
    await (this.loaded ??= this.load(signal));
    const found = this.byGvk.get(key(apiVersion, kind));
    if (found) return found;
    await (this.loaded = this.load(signal));
    return this.byGvk.get(key(apiVersion, kind));
  }

  /** Every resource (preferred first) that supports `verb`. */
  async all(verb: string, signal?: AbortSignal): Promise<ResourceInfo[]> {
    await (this.loaded ??= this.load(signal));
    const seen = new Set<string>();
    return [...this.byGvk.values()].filter((r) => {
      const id = `${r.group}/${r.plural}`;
      if (!r.verbs.includes(verb) || seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  /** The server version and served API versions, sorted (so equal clusters compare equal). */
  async capabilities(signal?: AbortSignal): Promise<ClusterCapabilities> {
    await (this.loaded ??= this.load(signal));
    this.version ??= this.client.request<{ gitVersion?: string }>('GET', '/version', { signal }).then((v) => v.gitVersion ?? '');
    const kubeVersion = await this.version.catch((err: unknown) => {
      this.version = undefined;
      throw err;
    });
    const apiVersions = new Set<string>();
    for (const k of this.byGvk.keys()) {
      const [apiVersion = '', kind = ''] = k.split('|');
      apiVersions.add(apiVersion).add(`${apiVersion}/${kind}`);
    }
    return { kubeVersion, apiVersions: [...apiVersions].sort() };
  }

  invalidate(): void {
    this.loaded = undefined;
    this.version = undefined;
  }

  private async load(signal?: AbortSignal): Promise<void> {
    const [core, groups] = await Promise.all([
      this.client.request<DiscoveryList>('GET', '/api', { accept: AGGREGATED, signal }),
      this.client.request<DiscoveryList>('GET', '/apis', { accept: AGGREGATED, signal }),
    ]);
    const next = new Map<string, ResourceInfo>();
    for (const [list, isCore] of [[core, true], [groups, false]] as const) {
      for (const group of list.items ?? []) {
        const groupName = isCore ? '' : (group.metadata?.name ?? '');
        for (const v of group.versions ?? []) {
          for (const r of v.resources ?? []) {
            if (!r.responseKind?.kind || r.resource.includes('/')) continue;
            const apiVersion = groupName ? `${groupName}/${v.version}` : v.version;
            const info = { group: groupName, version: v.version, kind: r.responseKind.kind, plural: r.resource, namespaced: r.scope === 'Namespaced', verbs: r.verbs ?? [] };
            if (!next.has(key(apiVersion, info.kind))) next.set(key(apiVersion, info.kind), info);
          }
        }
      }
    }
    this.byGvk = next;
  }
}

function key(apiVersion: string, kind: string): string {
  return `${apiVersion}|${kind}`;
}

/** The REST path of a resource collection or one object. */
export function resourcePath(info: ResourceInfo, namespace?: string, name?: string): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${info.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
