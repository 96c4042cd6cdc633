import { createSecretKey, type KeyObject } from 'node:crypto';
import type { ResourceInfo } from '../../clusters/discovery.ts';
import { APP_LABEL } from '../apply/object-policy.ts';
import { healthOf, type ObjectHealth } from '../health/kstatus.ts';
import type { ClusterApplier } from '../apply/cluster-applier.ts';
import { EMPTY_INVENTORY, type Inventory } from '../inventory/inventory.ts';
import { listRecordsByApp, type AppRecord } from '../status/app-record.ts';
import { digestKey } from '../status/digest-key.ts';

/**
 * What one reconcile round reads from a cluster once and shares among all apps: every app
 * record (one list) and, per resource, the metadata of every object any app owns (one list
 * per kind). A thousand apps cost a handful of requests instead of thousands.
 * Valid for one round; dropped after a transient failure so retries read afresh.
 */

export interface OwnedMeta {
  readonly rv?: string;
  readonly annotations?: Record<string, string>;
}

export class ClusterRound {
  private readonly applier: ClusterApplier;
  private records: Promise<Map<string, AppRecord>> | undefined;
  private key: Promise<KeyObject> | undefined;
  private readonly owned = new Map<string, Promise<Map<string, Map<string, OwnedMeta>>>>();
  /** Apps of this round: objects of other apps in the shared lists are not kept. */
  private apps: ReadonlySet<string> | undefined;
  private readonly health = new Map<string, Promise<Map<string, ObjectHealth>>>();
  /** The stack this round reconciles: stamped on the records it writes. */
  readonly stack: string;

  constructor(applier: ClusterApplier, stack = '') {
    this.applier = applier;
    this.stack = stack;
  }

  /** Limits the owned-object lists to the objects of these apps (a cluster may hold many more). */
  scope(apps: ReadonlySet<string>): void {
    this.apps = apps;
  }

  /**
   * The app's record, as this round will write it (stamped with the round's stack). A record another stack
   * wrote comes back with `ownedBy` set: one app name on one cluster belongs to one stack, never taken over.
   */
  async record(app: string, signal?: AbortSignal): Promise<AppRecord> {
    const found = (await this.records_(signal)).get(app) ?? { inventory: EMPTY_INVENTORY as Inventory };
    if (found.corrupt || !this.stack) return found;
    if (found.stack && found.stack !== this.stack) return { ...found, ownedBy: found.stack };
    return { ...found, stack: this.stack };
  }

  /** Every app record in the cluster, as stored. */
  async allRecords(signal?: AbortSignal): Promise<ReadonlyMap<string, AppRecord>> {
    return this.records_(signal);
  }

  private records_(signal?: AbortSignal): Promise<Map<string, AppRecord>> {
    this.records ??= listRecordsByApp(this.applier.client, signal);
    return this.records;
  }

  /**
   * Health of every object of `info` that any app owns, from one list per kind per round
   * (only the verdicts are kept, not the objects). Keyed group/kind/namespace/name.
   */
  async healthOf(info: ResourceInfo, signal?: AbortSignal): Promise<ReadonlyMap<string, ObjectHealth>> {
    const id = `${info.group}/${info.plural}`;
    let found = this.health.get(id);
    if (!found) {
      const verdicts = new Map<string, ObjectHealth>();
      found = this.applier
        .forEachObject(info, APP_LABEL, (obj) => verdicts.set(`${info.group}/${info.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`, healthOf(obj)), signal)
        .then(() => verdicts);
      this.health.set(id, found);
    }
    return found;
  }

  /** The HMAC key of inventory digests in this cluster. */
  digestKey(signal?: AbortSignal): Promise<KeyObject> {
    // A key object made once: an HMAC per object from raw bytes would import the key each time.
    this.key ??= digestKey(this.applier.client, signal).then((bytes) => createSecretKey(bytes));
    return this.key;
  }

  /** Objects of `info` owned by `app`, keyed group/kind/namespace/name. */
  async ownedBy(info: ResourceInfo, app: string, signal?: AbortSignal): Promise<Map<string, OwnedMeta>> {
    const id = `${info.group}/${info.plural}`;
    let all = this.owned.get(id);
    if (!all) {
      const byApp = new Map<string, Map<string, OwnedMeta>>();
      all = this.applier
        .forEachMeta(
          info,
          APP_LABEL,
          (item) => {
            const owner = item.metadata.labels?.[APP_LABEL];
            if (!owner || (this.apps && !this.apps.has(owner))) return;
            let m = byApp.get(owner);
            if (!m) byApp.set(owner, (m = new Map()));
            m.set(`${info.group}/${info.kind}/${item.metadata.namespace ?? ''}/${item.metadata.name}`, {
              ...(item.metadata.resourceVersion ? { rv: item.metadata.resourceVersion } : {}),
              ...(item.metadata.annotations ? { annotations: item.metadata.annotations } : {}),
            });
          },
          signal,
        )
        .then(() => byApp);
      this.owned.set(id, all);
    }
    return (await all).get(app) ?? new Map();
  }

  /**
   * Drops what the round read for `app` once its sync is over (an app syncs once per round), so
   * the round's reads shrink as it goes instead of holding every record to the end.
   */
  release(app: string): void {
    const forget = (m: Map<string, unknown>) => void m.delete(app);
    this.records?.then(forget, () => undefined);
    for (const p of this.owned.values()) p.then(forget, () => undefined);
  }

  invalidate(): void {
    this.records = undefined;
    this.key = undefined;
    this.owned.clear();
    this.health.clear();
  }
}
