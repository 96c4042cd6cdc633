import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { KubeApiError } from '../../clusters/errors.ts';
import type { KubeClient } from '../../clusters/kube-client.ts';
import { InfraError } from '../../stacks/errors.ts';
import { isConflict, microTime, type Lease } from './lease-store.ts';

/**
 * Push triggers shared by the replicas of `infra serve` through the management cluster. A
 * webhook or hook reaches ONE replica (the Service picks one); that replica triggers its own
 * apps at once and records the push here: one Lease per source in the serve namespace, whose
 * annotations say source, revision, time and who wrote it (written with the resourceVersion it
 * read; the newest trigger wins). Every replica keeps one watch on these Leases (resumed from
 * the last resourceVersion after a disconnect, listed again after 410 Gone) and triggers its own
 * apps of that source. A Lease (not a ConfigMap): the replicas' Role already covers Leases only.
 */

export const TRIGGER_LABEL = 'infra.dev/trigger';
export const TRIGGER_PREFIX = 'infra-trigger-';
const A_SOURCE = 'infra.dev/source';
const A_REVISION = 'infra.dev/revision';
const A_TIME = 'infra.dev/time';
const A_BY = 'infra.dev/by';

export interface SharedTrigger {
  readonly source: string;
  readonly revision?: string;
  /** When the push was received (ms since the epoch). */
  readonly at: number;
  /** Identity of the replica that received it. */
  readonly by: string;
}

export type BoardLog = (level: 'info' | 'warn', msg: string, fields?: Readonly<Record<string, string | number>>) => void;

/** The Lease name of a source's trigger: readable, and unique per source name (hash suffix). */
export function triggerName(source: string): string {
  const safe = source.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 8);
  return `${TRIGGER_PREFIX}${safe ? `${safe}-` : ''}${hash}`;
}

/** The trigger a Lease records, or undefined when it records none (not ours, or malformed). */
export function triggerOf(l: Lease): SharedTrigger | undefined {
  const a = l.metadata.annotations ?? {};
  const source = a[A_SOURCE];
  const at = Date.parse(a[A_TIME] ?? '');
  if (!source || !Number.isFinite(at)) return undefined;
  return { source, at, by: a[A_BY] ?? '', ...(a[A_REVISION] ? { revision: a[A_REVISION] } : {}) };
}

/** Whether `next` replaces `current`: a later push (by the receiver's clock); ties go to the newer write. */
export function supersedes(next: SharedTrigger, current: SharedTrigger | undefined): boolean {
  return !current || next.at >= current.at;
}

interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Lease & { code?: number; message?: string };
}

export class TriggerBoard {
  private readonly client: KubeClient;
  readonly namespace: string;
  readonly identity: string;
  private readonly log: BoardLog;
  /** What each trigger Lease said when last seen (by name), so a relist triggers only what changed. */
  private readonly seen = new Map<string, string>();

  constructor(client: KubeClient, namespace: string, identity: string, log: BoardLog = () => undefined) {
    this.client = client;
    this.namespace = namespace;
    this.identity = identity;
    this.log = log;
  }

  private path(name?: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  /** Records a push to `source` for the other replicas; a newer trigger already there is kept. */
  async publish(t: { readonly source: string; readonly revision?: string; readonly at?: number }, signal?: AbortSignal): Promise<void> {
    const next: SharedTrigger = { source: t.source, at: t.at ?? Date.now(), by: this.identity, ...(t.revision ? { revision: t.revision } : {}) };
    const name = triggerName(t.source);
    const annotations = { [A_SOURCE]: next.source, [A_TIME]: microTime(next.at), [A_BY]: next.by, ...(next.revision ? { [A_REVISION]: next.revision } : {}) };
    for (let attempt = 0; attempt < 5; attempt++) {
      let current: Lease | undefined;
      try {
        current = await this.client.request<Lease>('GET', this.path(name), { ...(signal ? { signal } : {}), timeoutMs: 5_000 });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      }
      if (current && !supersedes(next, triggerOf(current))) return;
      try {
        if (current) {
          // Replace, not merge: a stale revision annotation must not survive a trigger without one.
          const others = Object.fromEntries(Object.entries(current.metadata.annotations ?? {}).filter(([k]) => ![A_SOURCE, A_REVISION, A_TIME, A_BY].includes(k)));
          await this.client.request('PUT', this.path(name), { body: { ...current, metadata: { ...current.metadata, annotations: { ...others, ...annotations } } }, ...(signal ? { signal } : {}), timeoutMs: 5_000 });
        } else {
          const lease: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, labels: { [TRIGGER_LABEL]: 'source' }, annotations }, spec: {} };
          await this.client.request('POST', this.path(), { body: lease, ...(signal ? { signal } : {}), timeoutMs: 5_000 });
        }
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Another replica wrote first: read again and compare.
      }
    }
    throw new TriggerBoardError(`could not record the push to ${t.source}: the Lease kept changing under 5 attempts`, { where: `lease ${this.namespace}/${name}`, hint: 'the other replicas see the push at their next poll' });
  }

  /**
   * Calls `onTrigger` for every trigger another replica records, until `signal` aborts. Triggers
   * recorded before the watch started are not replayed (the first round covers them); after a
   * 410 the list is read again and only the Leases that changed meanwhile are replayed.
   */
  async watch(onTrigger: (t: SharedTrigger) => void, signal: AbortSignal, onReady?: () => void): Promise<void> {
    let resourceVersion: string | undefined;
    let failures = 0;
    let first = true;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.list(first ? undefined : onTrigger, signal);
          if (first) onReady?.();
          first = false;
        }
        await this.client.stream(this.path(), { query: { labelSelector: TRIGGER_LABEL, watch: '1', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '300' }, signal, idleTimeoutMs: 330_000 }, (line) => {
          const ev = line as WatchEvent;
          if (ev.type === 'ERROR') {
            if (ev.object.code === 410) resourceVersion = undefined;
            throw new KubeApiError(this.client.cluster, ev.object.code ?? 500, 'WatchError', ev.object.message ?? 'watch error');
          }
          resourceVersion = ev.object.metadata.resourceVersion ?? resourceVersion;
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.consider(ev.object, onTrigger);
          if (ev.type === 'DELETED') this.seen.delete(ev.object.metadata.name);
          failures = 0;
        });
        // The server ended the watch (timeoutSeconds): resume from where it was.
      } catch (err) {
        if (signal.aborted) break;
        // 410 Gone, on the watch request or as an ERROR event (which cleared resourceVersion): list again.
        if ((err instanceof KubeApiError && err.status === 410) || resourceVersion === undefined) {
          resourceVersion = undefined;
          this.log('info', 'trigger watch expired (410 Gone): listing again');
          continue;
        }
        failures++;
        const wait = Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6));
        this.log('warn', `trigger watch failed: ${err instanceof InfraError ? err.oneLine() : (err as Error).message}; again in ${(wait / 1000).toFixed(1)}s`);
        await delay(wait, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Lists the trigger Leases; with `replay`, the ones that changed since seen are triggered. Returns the list's resourceVersion. */
  private async list(replay: ((t: SharedTrigger) => void) | undefined, signal: AbortSignal): Promise<string> {
    const out = await this.client.request<{ metadata?: { resourceVersion?: string }; items?: Lease[] }>('GET', this.path(), { query: { labelSelector: TRIGGER_LABEL }, signal, timeoutMs: 10_000 });
    for (const l of out.items ?? []) {
      if (replay) this.consider(l, replay);
      else this.seen.set(l.metadata.name, fingerprint(l));
    }
    return out.metadata?.resourceVersion ?? '';
  }

  private consider(l: Lease, onTrigger: (t: SharedTrigger) => void): void {
    const print = fingerprint(l);
    if (this.seen.get(l.metadata.name) === print) return;
    this.seen.set(l.metadata.name, print);
    const t = triggerOf(l);
    // Our own record: this replica triggered its apps when it took the push.
    if (t && t.by !== this.identity) onTrigger(t);
  }
}

function fingerprint(l: Lease): string {
  const t = triggerOf(l);
  return t ? `${t.source}\0${t.revision ?? ''}\0${t.at}\0${t.by}` : '';
}

export class TriggerBoardError extends InfraError {
  readonly reason = 'TriggerBoardFailed';
}
