import { KubeApiError } from '../../clusters/errors.ts';
import { isTransient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { APP_LABEL, PRUNE_ANNOTATION, type Stage } from '../apply/object-policy.ts';
import { healthOf } from '../health/kstatus.ts';
import { byKey, mergeEntries, sameInventory, staleEntries, type Inventory, type InventoryEntry } from '../inventory/inventory.ts';
import { mapLimit } from '../pool.ts';
import { planPrune } from '../prune/prune-plan.ts';
import { writeRecord } from '../status/app-record.ts';
import { describeObject, parseKey, type AppStatus, type DriftedObject, type HealthState, type StatusError } from '../types.ts';
import { ContentError, where, type PlannedObject, type PreparedSync } from './target.ts';
import { planHooks, runHooks } from './hooks.ts';

/**
 * The second half of a sync: staged server-side apply (CRDs and Namespaces, then
 * cluster-scoped, then namespaced), inventory, prune, health, status. The inventory is
 * widened before the first write and narrowed after pruning, so a crash at any point leaves
 * every object we created tracked and the next run repairs the rest.
 */
export async function commitSync(prepared: PreparedSync, options: { concurrency: number; signal?: AbortSignal }): Promise<AppStatus> {
  const { app, cluster, record, revision } = prepared;
  const { applier } = cluster;
  const signal = options.signal;
  const detectOnly = app.drift === 'detect';
  const toApply = (p: PlannedObject) => p.change === 'apply' || (p.change === 'drifted' && !detectOnly);
  const entryOf = (p: PlannedObject, rv?: string): InventoryEntry => ({ key: p.key, apiVersion: p.object.apiVersion, digest: p.digest, ...(rv ? { rv } : {}) });
  // Helm hooks run at their phase (sync/hooks.ts); one that has not run yet is tracked without its digest.
  const hooks = planHooks(prepared);
  const hooksRan = new Set<string>();
  const tracked = (p: PlannedObject, rv?: string): InventoryEntry =>
    hooks.pending.has(p.key) && !hooksRan.has(p.key) ? (byKey(record.inventory).get(p.key) ?? { ...entryOf(p), digest: '' }) : entryOf(p, rv);

  // 1. Track everything we are about to create before creating it.
  const widened: Inventory = { revision: record.inventory.revision, entries: mergeEntries(prepared.objects.map((p) => tracked(p)), record.inventory.entries) };
  if (widened.entries.length !== record.inventory.entries.length) await writeRecord(cluster.client, app.name, { ...record, inventory: widened }, signal);

  // 2. Staged apply.
  const applied = new Map<string, string>();
  // Most objects (ConfigMaps, Secrets, RBAC) are healthy the moment the apply returns: no poll needed.
  const healthyOnApply = new Set<string>();
  const errors: StatusError[] = [];
  for (const stage of [0, 1, 2] as Stage[]) {
    if (stage === 1 && errors.length === 0) {
      const pre = await runHooks(prepared, hooks.pre, { timeoutMs: app.timeoutMs, ...(signal ? { signal } : {}) });
      for (const k of pre.succeeded) hooksRan.add(k);
      if (pre.error) errors.push(pre.error);
      if (errors.length > 0) break;
    }
    const batch = prepared.objects.filter((p) => p.stage === stage && toApply(p) && !hooks.isHook(p));
    const results = await mapLimit(batch, options.concurrency, async (p) => {
      const info = p.info ?? (await applier.info(p.object, signal));
      if (!info) throw new ContentError({ reason: 'ValidationFailed', message: `unknown kind ${p.object.kind} in ${p.object.apiVersion} after its CRDs were applied`, where: where(p.manifest) });
      const out = await applier.apply(info, p.object, { dryRun: false, force: app.conflicts === 'force', signal });
      applied.set(p.key, out.metadata.resourceVersion ?? '');
      if (healthOf(out).status === 'Current') healthyOnApply.add(p.key);
    });
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      if (isTransient(r.reason)) throw r.reason;
      errors.push(r.reason instanceof ContentError ? r.reason.status : { reason: 'ApplyFailed', message: String((r.reason as Error).message ?? r.reason) });
    }
    if (stage === 0 && batch.some((p) => p.object.kind === 'CustomResourceDefinition')) {
      await waitCrdsEstablished(prepared, batch.filter((p) => p.object.kind === 'CustomResourceDefinition'), signal);
      applier.discovery.invalidate();
    }
    if (errors.length > 0) break;
  }

  // 3. Prune what left Git (only when everything applied: never prune on a half-applied revision).
  const desiredKeys = new Set(prepared.objects.map((p) => p.key));
  const stale = staleEntries(widened, desiredKeys);
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
    (p) => p.info && p.change !== 'skip' && !hooks.isHook(p) && !healthyOnApply.has(p.key) && (applied.has(p.key) || record.status?.health !== 'Healthy'),
  );
  const { health, unhealthy } = errors.length > 0 ? { health: 'Degraded' as HealthState, unhealthy: [] } : await checkHealth(prepared, check, app.wait ? app.timeoutMs : 0, signal);
  if (errors.length === 0 && health === 'Healthy' && hooks.post.length > 0) {
    const post = await runHooks(prepared, hooks.post, { timeoutMs: app.timeoutMs, ...(signal ? { signal } : {}) });
    for (const k of post.succeeded) hooksRan.add(k);
    if (post.error) errors.push(post.error);
  }

  // 5. Record: inventory narrowed to what exists, status.
  const previous = byKey(record.inventory);
  const entries = mergeEntries(
    kept,
    prepared.objects.map((p) => tracked(p, applied.get(p.key) ?? (p.change === 'unchanged' ? p.liveRv : undefined) ?? previous.get(p.key)?.rv)),
  );
  const drifted: DriftedObject[] = prepared.objects.filter((p) => p.change === 'drifted').map((p) => ({ object: describeObject(p.object), fields: p.drift }));
  const status: AppStatus = {
    app: app.name,
    cluster: cluster.spec.name,
    revision,
    sync: errors.length > 0 ? 'Failed' : detectOnly && drifted.length > 0 ? 'OutOfSync' : 'Synced',
    health: errors.length > 0 ? 'Degraded' : health,
    drifted: detectOnly ? drifted : [],
    unhealthy,
    objects: prepared.objects.length,
    ...(errors[0] ? { error: errors[0] } : health === 'Degraded' || health === 'Progressing' ? { error: { reason: 'HealthCheckFailed', message: unhealthy.join('; ') } } : {}),
    ...(errors.length === 0 ? { lastAppliedRevision: revision } : record.status?.lastAppliedRevision ? { lastAppliedRevision: record.status.lastAppliedRevision } : {}),
  };
  const inventory: Inventory = { revision: errors.length === 0 ? revision : record.inventory.revision, entries };
  if (!sameInventory(inventory, record.inventory) || JSON.stringify(status) !== JSON.stringify(record.status)) {
    await writeRecord(cluster.client, app.name, { inventory, status }, signal);
  }
  return status;
}

async function waitCrdsEstablished(prepared: PreparedSync, crds: readonly PlannedObject[], signal?: AbortSignal): Promise<void> {
  const ok = await waitFor(
    async () => {
      for (const p of crds) {
        const live = p.info ? await prepared.cluster.applier.get(p.info, undefined, p.object.metadata.name ?? '', signal) : undefined;
        if (!live || healthOf(live).status !== 'Current') return undefined;
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 100, ...(signal ? { signal } : {}) },
  );
  if (!ok) throw new ContentError({ reason: 'ApplyFailed', message: 'CustomResourceDefinitions not Established within 30s' });
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
