import { randomBytes } from 'node:crypto';
import { rename, writeFile, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { infraHome } from '../host/paths.ts';
import { KubeApiError } from '../errors.ts';
import { privateDir, readOptional } from '../fs.ts';
import type { ProbeClient } from './probe.ts';
import { HealthStoreError } from './health-errors.ts';
import type { ClusterHealth, HealthState } from './types.ts';

/**
 * Where cluster health and its clocks survive a restart of `infra serve`: one ConfigMap per
 * cluster in the management cluster (`infra-system/infra-health-<cluster>` by default, the clocks as
 * annotations, every write a compare-and-swap on resourceVersion), or a 0600 JSON file when
 * there is no management cluster. Only the clocks are kept (state, since, unhealthySince,
 * readySince); reachability and latency are for the moment they were observed.
 */

export interface HealthStore {
  /** Every stored cluster's health (reachable false: nothing is known about now). */
  load(signal?: AbortSignal): Promise<Map<string, ClusterHealth>>;
  save(health: ClusterHealth, signal?: AbortSignal): Promise<ClusterHealth>;
}

export const HEALTH_NAMESPACE = 'infra-system';
export const HEALTH_LABEL = 'infra.dev/cluster-health';
const A = { state: 'infra.dev/health-state', since: 'infra.dev/health-since', unhealthySince: 'infra.dev/health-unhealthy-since', readySince: 'infra.dev/health-ready-since' } as const;
const STATES: readonly HealthState[] = ['Ready', 'NotReady', 'Unknown'];
const MAX_CONFLICT_RETRIES = 5;

interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** Where `infra serve` keeps a stack's health without a management cluster (and `infra clusters` reads it). */
export function defaultHealthFile(stackName: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(infraHome(env), 'serve', `health-${stackName}.json`);
}

export function healthObjectName(cluster: string): string {
  return `infra-health-${cluster}`;
}

/**
 * Two writers (replicas) that agree on the state keep the EARLIER clocks: a replica that only
 * just noticed must not move the clock another one started. When they disagree, the newer
 * observation (ours) wins.
 */
export function mergeHealth(stored: ClusterHealth | undefined, mine: ClusterHealth): ClusterHealth {
  if (!stored || stored.state !== mine.state) return mine;
  const earlier = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
  const unhealthySince = earlier(stored.unhealthySince, mine.unhealthySince);
  const readySince = earlier(stored.readySince, mine.readySince);
  return { ...mine, since: Math.min(stored.since, mine.since), ...(unhealthySince !== undefined ? { unhealthySince } : {}), ...(readySince !== undefined ? { readySince } : {}) };
}

export class ConfigMapHealthStore implements HealthStore {
  private readonly client: ProbeClient;
  readonly namespace: string;
  private readonly base: string;

  /** `namespace`: where serve keeps its state in the management cluster (default infra-system; a deployed serve passes its own). */
  private readonly timeoutMs: number;

  /** `timeoutMs` per request: a management cluster that hangs must not hold the probe rounds for the client's default 30 s. */
  constructor(management: ProbeClient, namespace = HEALTH_NAMESPACE, options: { timeoutMs?: number } = {}) {
    this.client = management;
    this.namespace = namespace;
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  }

  async load(signal?: AbortSignal): Promise<Map<string, ClusterHealth>> {
    const list = await this.client.request<{ items?: ConfigMap[] }>('GET', this.base, { query: { labelSelector: HEALTH_LABEL }, timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) }).catch((err: unknown) => {
      if (err instanceof KubeApiError && err.status === 404) return { items: [] };
      throw err;
    });
    const out = new Map<string, ClusterHealth>();
    for (const cm of list.items ?? []) {
      const h = fromAnnotations(cm);
      if (h) out.set(h.cluster, h);
    }
    return out;
  }

  async save(health: ClusterHealth, signal?: AbortSignal): Promise<ClusterHealth> {
    const name = healthObjectName(health.cluster);
    for (let attempt = 0; ; attempt++) {
      const current = await this.read(name, signal);
      const merged = mergeHealth(current ? fromAnnotations(current) : undefined, health);
      const body: ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace: this.namespace,
          labels: { ...(current?.metadata.labels ?? {}), [HEALTH_LABEL]: health.cluster, 'app.kubernetes.io/managed-by': 'infra' },
          annotations: { ...withoutOurs(current?.metadata.annotations), ...toAnnotations(merged) },
          ...(current?.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
        },
      };
      try {
        if (current) await this.client.request('PUT', `${this.base}/${name}`, { body, timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) });
        else await this.create(body, signal);
        return merged;
      } catch (err) {
        // Another replica wrote first: read again and merge with what it wrote.
        const conflict = err instanceof KubeApiError && (err.status === 409 || err.apiReason === 'AlreadyExists');
        if (!conflict) throw err;
        if (attempt >= MAX_CONFLICT_RETRIES) {
          throw new HealthStoreError(`ConfigMap ${this.namespace}/${name}: still conflicting after ${attempt + 1} writes`, { where: `cluster ${this.client.cluster}`, hint: 'several replicas write health at once; it is written again on the next change', cause: err });
        }
      }
    }
  }

  private async read(name: string, signal?: AbortSignal): Promise<ConfigMap | undefined> {
    try {
      return await this.client.request<ConfigMap>('GET', `${this.base}/${name}`, { timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  private async create(body: ConfigMap, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.request('POST', this.base, { body, timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      // No such namespace yet in the management cluster.
      await this.client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } }, timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) }).catch((e: unknown) => {
        if (!(e instanceof KubeApiError && e.status === 409)) throw e;
      });
      await this.client.request('POST', this.base, { body, timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) });
    }
  }
}

/** Without a management cluster: one JSON file, 0600, replaced atomically (one serve process owns it). */
export class FileHealthStore implements HealthStore {
  readonly path: string;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<Map<string, ClusterHealth>> {
    const text = await readOptional(this.path);
    const out = new Map<string, ClusterHealth>();
    if (text === undefined) return out;
    let doc: { clusters?: Record<string, unknown> };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch (err) {
      throw new HealthStoreError(`health file is not JSON: ${(err as Error).message}`, { where: this.path, hint: 'delete it; health is probed again and the clocks start over' });
    }
    for (const [cluster, value] of Object.entries(doc.clusters ?? {})) {
      const h = parseStored(cluster, value as Record<string, unknown>);
      if (h) out.set(cluster, h);
    }
    return out;
  }

  save(health: ClusterHealth): Promise<ClusterHealth> {
    // Writes are serialized: two clusters changing in one tick must not lose each other's entry.
    const next = this.writing.then(async () => {
      const all = await this.load();
      const merged = mergeHealth(all.get(health.cluster), health);
      all.set(health.cluster, merged);
      const clusters: Record<string, unknown> = {};
      for (const name of [...all.keys()].sort()) clusters[name] = stored(all.get(name)!);
      await privateDir(dirname(this.path));
      const tmp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, `${JSON.stringify({ clusters }, null, 2)}\n`, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, this.path);
      return merged;
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}

function stored(h: ClusterHealth): Record<string, string> {
  return {
    state: h.state,
    since: iso(h.since),
    ...(h.unhealthySince !== undefined ? { unhealthySince: iso(h.unhealthySince) } : {}),
    ...(h.readySince !== undefined ? { readySince: iso(h.readySince) } : {}),
  };
}

function parseStored(cluster: string, v: Record<string, unknown>): ClusterHealth | undefined {
  const state = v['state'] as HealthState;
  const since = time(v['since']);
  if (!STATES.includes(state) || since === undefined) return undefined;
  const unhealthySince = time(v['unhealthySince']);
  const readySince = time(v['readySince']);
  return { cluster, state, since, ...(unhealthySince !== undefined ? { unhealthySince } : {}), ...(readySince !== undefined ? { readySince } : {}), reachable: false };
}

function toAnnotations(h: ClusterHealth): Record<string, string> {
  const s = stored(h);
  return {
    [A.state]: s['state']!,
    [A.since]: s['since']!,
    ...(s['unhealthySince'] ? { [A.unhealthySince]: s['unhealthySince'] } : {}),
    ...(s['readySince'] ? { [A.readySince]: s['readySince'] } : {}),
  };
}

function fromAnnotations(cm: ConfigMap): ClusterHealth | undefined {
  const a = cm.metadata.annotations ?? {};
  const cluster = cm.metadata.labels?.[HEALTH_LABEL];
  if (!cluster) return undefined;
  return parseStored(cluster, { state: a[A.state], since: a[A.since], unhealthySince: a[A.unhealthySince], readySince: a[A.readySince] });
}

function withoutOurs(annotations: Record<string, string> | undefined): Record<string, string> {
  const ours = new Set<string>(Object.values(A));
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => !ours.has(k)));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function time(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}
