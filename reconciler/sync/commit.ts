import { KubeApiError } from '../../clusters/errors.ts';
import { isTransient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { APP_LABEL, PRUNE_ANNOTATION } from '../apply/object-policy.ts';
import { healthOf } from '../health/kstatus.ts';
import { mergeEntries, sameInventory, staleEntries, type Inventory, type InventoryEntry } from '../inventory/inventory.ts';
import { mapLimit } from '../pool.ts';
import { planPrune } from '../prune/prune-plan.ts';
import { writeRecord } from '../status/app-record.ts';
import { describeObject, parseKey, type AppStatus, type HealthState } from '../types.ts';
import { applyStaged } from './staged-apply.ts';
import { statusOf } from './status-of.ts';
import type { PlannedObject, PreparedSync } from './target.ts';

/**
 * The second half of a sync: staged server-side apply, inventory, prune, health, status. What
 * the record does not track yet is noted in the cluster's journal before the first write (one
 * journal write for all the apps ready at that moment), and the record is written once at the
 * end, so a crash at any point leaves every object we created tracked (by the record or the
 * journal) and the next run repairs the rest.
 */
export async function commitSync(prepared: PreparedSync, options: { concurrency: number; signal?: AbortSignal }): Promise<AppStatus> {
  const { app, cluster, record, revision } = prepared;
  const signal = options.signal;
  const detectOnly = app.drift === 'detect';

  // 1. Track everything we are about to create before creating it: noted in the journal (with
  //    other apps' notes), or, for an app too big for the journal, in its widened record.
  //    Notes an unfinished earlier round left count as tracked: candidates to prune.
  const pending = await cluster.journal.pending(app.name, signal);
  const tracked = new Set([...record.inventory.entries.map((e) => e.key), ...pending.map((p) => p.key)]);
  const fresh = prepared.objects.filter((p) => !tracked.has(p.key));
  const widened: Inventory = {
    revision: record.inventory.revision,
    entries: mergeEntries(
      prepared.objects.map((p) => ({ key: p.key, apiVersion: p.object.apiVersion, digest: p.digest })),
      mergeEntries(pending.map((p) => ({ ...p, digest: '' })), record.inventory.entries),
    ),
  };
  if (fresh.length > 0) {
    const noted = await cluster.journal.intend(app.name, [...pending, ...fresh.map((p) => ({ key: p.key, apiVersion: p.object.apiVersion }))], signal);
    if (!noted) await writeRecord(cluster.client, app.name, { ...record, inventory: widened }, signal);
  }

  // 2. Staged apply.
  const { applied, healthyOnApply, errors: applyErrors } = await applyStaged(prepared, options);
  const errors = [...applyErrors];

  // 3. Prune what left Git (only when everything applied: never prune on a half-applied revision).
  const stale = staleEntries(widened, new Set(prepared.objects.map((p) => p.key)));
  const kept: InventoryEntry[] = [];
  if (errors.length === 0 && app.prune && stale.length > 0) {
    try {
      kept.push(...(await prune(prepared, stale, signal)));
    } catch (err) {
      if (isTransient(err)) throw err;
      errors.push({ reason: 'PruneFailed', message: (err as Error).message });
      kept.push(...stale);
    }
  } else {
    kept.push(...stale);
  }

  // 4. Health of what changed, and of what was unhealthy before.
  const check = prepared.objects.filter(
    (p) => p.info && p.change !== 'skip' && !healthyOnApply.has(p.key) && (applied.has(p.key) || record.status?.health !== 'Healthy'),
  );
  const { health, unhealthy } = errors.length > 0 ? { health: 'Degraded' as HealthState, unhealthy: [] } : await checkHealth(prepared, check, app.wait ? app.timeoutMs : 0, signal);

  // 5. Record: inventory narrowed to what exists, status.
  const { status, inventory } = statusOf({ app: app.name, cluster: cluster.spec.name, revision, detectOnly, previous: record, objects: prepared.objects, applied, kept, errors, health, unhealthy });
  if (!sameInventory(inventory, record.inventory) || JSON.stringify(status) !== JSON.stringify(record.status)) {
    await writeRecord(cluster.client, app.name, { inventory, status }, signal);
  }
  cluster.journal.settle(app.name);
  return status;
}

async function prune(prepared: PreparedSync, stale: readonly InventoryEntry[], signal?: AbortSignal): Promise<InventoryEntry[]> {
  const { applier } = prepared.cluster;
  const { app } = prepared;
  const facts = new Map<string, { owner: string | undefined | 'absent'; pruneDisabled: boolean }>();
  for (const e of stale) {
    const k = parseKey(e.key);
    const info = await applier.info({ apiVersion: e.apiVersion, kind: k.kind, metadata: {} }, signal);
    const live = info ? await applier.get(info, k.namespace || undefined, k.name, signal) : undefined;
    facts.set(e.key, live ? { owner: live.metadata.labels?.[APP_LABEL], pruneDisabled: live.metadata.annotations?.[PRUNE_ANNOTATION] === 'disabled' } : { owner: 'absent', pruneDisabled: false });
  }
  const foreign = new Map<string, number>();
  for (const e of stale) {
    const k = parseKey(e.key);
    if (k.group === '' && k.kind === 'Namespace') foreign.set(k.name, await applier.foreignObjectsIn(k.name, app.name, signal));
  }
  const decisions = planPrune(app.name, stale, prepared.objects.length, app.allowEmpty, {
    ownerOf: (key) => facts.get(key)?.owner,
    pruneDisabled: (key) => facts.get(key)?.pruneDisabled ?? false,
    foreignObjectsIn: (ns) => foreign.get(ns) ?? 0,
  });
  const staleByKey = new Map(stale.map((e) => [e.key, e]));
  const kept: InventoryEntry[] = [];
  // Namespaced objects first, namespaces last, so a namespace is only deleted once emptied of ours.
  const ordered = [...decisions].sort((a, b) => Number(parseKey(a.key).kind === 'Namespace') - Number(parseKey(b.key).kind === 'Namespace'));
  for (const d of ordered) {
    const entry = staleByKey.get(d.key);
    if (!entry) continue;
    if (d.action === 'keep') kept.push(entry);
    if (d.action !== 'delete') continue;
    const k = parseKey(d.key);
    const info = await applier.info({ apiVersion: entry.apiVersion, kind: k.kind, metadata: {} }, signal);
    try {
      if (info) await applier.delete(info, k.namespace || undefined, k.name, signal);
    } catch (err) {
      if (isTransient(err)) throw err;
      kept.push(entry); // failed to delete: stays tracked, retried next time
      if (!(err instanceof KubeApiError)) throw err;
    }
  }
  return kept;
}

async function checkHealth(prepared: PreparedSync, objects: readonly PlannedObject[], timeoutMs: number, signal?: AbortSignal): Promise<{ health: HealthState; unhealthy: string[] }> {
  let last: string[] = [];
  let failed = false;
  const verdict = await waitFor(
    async () => {
      const results = await mapLimit(objects, 16, async (p) => {
        const live = p.info ? await prepared.cluster.applier.get(p.info, p.object.metadata.namespace, p.object.metadata.name ?? '', signal) : undefined;
        return live ? { p, h: healthOf(live) } : { p, h: { status: 'InProgress' as const, message: 'not found' } };
      });
      last = [];
      failed = false;
      for (const r of results) {
        if (r.status === 'rejected') throw r.reason;
        if (r.value.h.status !== 'Current') last.push(`${describeObject(r.value.p.object)}: ${r.value.h.message}`);
        if (r.value.h.status === 'Failed') failed = true;
      }
      return last.length === 0 || failed ? true : undefined;
    },
    { timeoutMs, intervalMs: 250, ...(signal ? { signal } : {}) },
  );
  if (verdict && last.length === 0) return { health: 'Healthy', unhealthy: [] };
  return { health: failed ? 'Degraded' : 'Progressing', unhealthy: last };
}
