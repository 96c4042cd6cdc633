import { randomBytes } from 'node:crypto';
import { chmod, open, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KubeApiError } from '../../clusters/errors.ts';
import { privateDir, readOptional } from '../../clusters/fs.ts';
import type { KubeClient } from '../../clusters/kube-client.ts';
import { PREFIX } from '../../stacks/gitops.ts';
import { PlacementConflictError, PlacementStateCorruptError } from './errors.ts';
import type { MoveRecord, PlacementState } from './state.ts';

/**
 * Where each app's placement state lives, so a replica that takes over (or a restarted one)
 * finishes the move its predecessor decided: a ConfigMap `infra-system/infra-placement-<app>` in
 * the management cluster, written with compare-and-swap on its resourceVersion; without a
 * management cluster, one 0600 JSON file (a single serve process, so the version is a counter).
 */

export const PLACEMENT_NAMESPACE = 'infra-system';
export const PLACEMENT_LABEL = `${PREFIX}/placement`;
/** Moves kept per app (newest last). */
export const HISTORY_CAP = 100;

export interface StoredPlacement {
  readonly state: PlacementState;
  /** Opaque: the version a write must still find (resourceVersion, or the file's counter). */
  readonly version: string;
}

export interface PlacementStore {
  /** Where the state is kept (for messages and Events). */
  readonly where: string;
  read(app: string, signal?: AbortSignal): Promise<StoredPlacement | undefined>;
  /** Every stored app's state, sorted by app. */
  list(signal?: AbortSignal): Promise<StoredPlacement[]>;
  /**
   * Writes `state` if the stored version is still `expected` (undefined: none stored yet);
   * returns the new version; throws PlacementConflictError when another writer came first.
   */
  write(state: PlacementState, expected: string | undefined, signal?: AbortSignal): Promise<string>;
}

export function placementName(app: string): string {
  return `infra-placement-${app}`;
}

/** The state with its history capped to the newest HISTORY_CAP moves. */
export function capped(state: PlacementState): PlacementState {
  return state.moves.length <= HISTORY_CAP ? state : { ...state, moves: state.moves.slice(-HISTORY_CAP) };
}

export function parseState(text: string, app: string, where: string): PlacementState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new PlacementStateCorruptError(`placement state of app "${app}" is not JSON: ${(err as Error).message}`, { where, hint: 'delete it; the next decision starts from the stack' });
  }
  const o = v as Partial<PlacementState>;
  const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (!o || typeof o !== 'object' || o.app !== app || !strings(o.clusters) || !strings(o.home) || !Array.isArray(o.moves) || !Array.isArray(o.pending)) {
    throw new PlacementStateCorruptError(`placement state of app "${app}" has the wrong shape`, { where, hint: 'delete it; the next decision starts from the stack' });
  }
  return o as PlacementState;
}

interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** The management cluster's ConfigMaps, one per app. */
export class ConfigMapPlacementStore implements PlacementStore {
  readonly where: string;
  private readonly client: KubeClient;
  private readonly namespace: string;

  constructor(client: KubeClient, namespace = PLACEMENT_NAMESPACE) {
    this.client = client;
    this.namespace = namespace;
    this.where = `management cluster, ${namespace}/infra-placement-*`;
  }

  private path(name?: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  /** The ConfigMap's uid (Events name it as their involvedObject); undefined when absent. */
  async uidOf(app: string, signal?: AbortSignal): Promise<string | undefined> {
    return (await this.get(app, signal))?.metadata.uid;
  }

  private async get(app: string, signal?: AbortSignal): Promise<ConfigMap | undefined> {
    try {
      return await this.client.request<ConfigMap>('GET', this.path(placementName(app)), { ...(signal ? { signal } : {}) });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async read(app: string, signal?: AbortSignal): Promise<StoredPlacement | undefined> {
    const cm = await this.get(app, signal);
    if (!cm) return undefined;
    return { state: parseState(cm.data?.['state.json'] ?? '', app, `${this.namespace}/${cm.metadata.name}`), version: cm.metadata.resourceVersion ?? '' };
  }

  async list(signal?: AbortSignal): Promise<StoredPlacement[]> {
    let items: ConfigMap[];
    try {
      items = (await this.client.request<{ items?: ConfigMap[] }>('GET', this.path(), { query: { labelSelector: PLACEMENT_LABEL }, ...(signal ? { signal } : {}) })).items ?? [];
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return [];
      throw err;
    }
    return items
      .map((cm) => ({ state: parseState(cm.data?.['state.json'] ?? '', cm.metadata.labels?.[PLACEMENT_LABEL] ?? '', `${this.namespace}/${cm.metadata.name}`), version: cm.metadata.resourceVersion ?? '' }))
      .sort((a, b) => a.state.app.localeCompare(b.state.app));
  }

  async write(state: PlacementState, expected: string | undefined, signal?: AbortSignal): Promise<string> {
    const body: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: placementName(state.app), labels: { [PLACEMENT_LABEL]: state.app }, ...(expected ? { resourceVersion: expected } : {}) },
      data: { 'state.json': JSON.stringify(capped(state)) },
    };
    const opts = { body, ...(signal ? { signal } : {}) };
    try {
      const out = expected === undefined ? await this.create(body, signal) : await this.client.request<ConfigMap>('PUT', this.path(body.metadata.name), opts);
      return out.metadata.resourceVersion ?? '';
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) {
        throw new PlacementConflictError(`placement state of app "${state.app}" changed since it was read`, { where: `${this.namespace}/${body.metadata.name}`, cause: err });
      }
      throw err;
    }
  }

  private async create(body: ConfigMap, signal?: AbortSignal): Promise<ConfigMap> {
    const post = () => this.client.request<ConfigMap>('POST', this.path(), { body, ...(signal ? { signal } : {}) });
    try {
      return await post();
    } catch (err) {
      // The namespace itself is missing (a fresh management cluster): made once, then the create again.
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      await this.client
        .request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } }, ...(signal ? { signal } : {}) })
        .catch((e: unknown) => {
          if (!(e instanceof KubeApiError && e.status === 409)) throw e;
        });
      return post();
    }
  }
}

interface FileDoc {
  apps: Record<string, { state: PlacementState; version: number }>;
}

/** One private JSON file (serve without a management cluster: one process writes it). */
export class FilePlacementStore implements PlacementStore {
  readonly where: string;
  private readonly file: string;
  /** Writes of this process one after another (read-modify-write of one file). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
    this.where = file;
  }

  private async load(): Promise<FileDoc> {
    const text = await readOptional(this.file);
    if (text === undefined) return { apps: {} };
    try {
      const doc = JSON.parse(text) as FileDoc;
      if (!doc || typeof doc.apps !== 'object') throw new Error('no "apps" object');
      return doc;
    } catch (err) {
      throw new PlacementStateCorruptError(`placement state file is not valid: ${(err as Error).message}`, { where: this.file, hint: 'move it aside; the next decision starts from the stack' });
    }
  }

  async read(app: string): Promise<StoredPlacement | undefined> {
    const entry = (await this.load()).apps[app];
    return entry ? { state: parseState(JSON.stringify(entry.state), app, this.file), version: String(entry.version) } : undefined;
  }

  async list(): Promise<StoredPlacement[]> {
    const doc = await this.load();
    return Object.keys(doc.apps)
      .sort()
      .map((app) => {
        const e = doc.apps[app] as { state: PlacementState; version: number };
        return { state: parseState(JSON.stringify(e.state), app, this.file), version: String(e.version) };
      });
  }

  write(state: PlacementState, expected: string | undefined): Promise<string> {
    const run = this.chain.then(async () => {
      const doc = await this.load();
      const current = doc.apps[state.app];
      if ((current ? String(current.version) : undefined) !== expected) {
        throw new PlacementConflictError(`placement state of app "${state.app}" changed since it was read`, { where: this.file });
      }
      const version = (current?.version ?? 0) + 1;
      doc.apps[state.app] = { state: capped(state), version };
      await writePrivate(this.file, `${JSON.stringify(doc, null, 2)}\n`);
      return String(version);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Written whole or not at all (temp file + rename), readable by its owner only. */
async function writePrivate(file: string, text: string): Promise<void> {
  await privateDir(dirname(file));
  const tmp = join(dirname(file), `.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/** The moves of a state, oldest first (the stored order; ties keep it). */
export function historyOf(state: PlacementState): readonly MoveRecord[] {
  return state.moves;
}
