import { KubeApiError } from '../../clusters/errors.ts';
import type { ResourceInfo } from '../../clusters/discovery.ts';
import { isTransient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { healthOf } from '../health/kstatus.ts';
import { compareHooks, hookOf, type Hook, type HookPhase } from '../render/helm-hooks.ts';
import type { InventoryEntry } from '../inventory/inventory.ts';
import { describeObject, type KubeObject, type StatusError } from '../types.ts';
import { ContentError, where, type PlannedObject, type PreparedSync } from './target.ts';

/**
 * The hook step of a sync: Helm hooks run at their phase instead of with the other objects.
 * A hook runs when its rendered content changed since it last ran (a chart whose inputs did
 * not change renders the same hooks, from the render cache, so nothing churns); install hooks
 * only on an app's first sync on a cluster, upgrade hooks on later ones. Running a hook:
 * delete the previous one (before-hook-creation), apply, wait until it is done (a Job
 * Complete, a Pod Succeeded, anything else healthy), then delete it if its policy says so.
 */

export interface HookPlan {
  readonly pre: readonly PlannedObject[];
  readonly post: readonly PlannedObject[];
  /** Keys of hooks that run in this sync (their new digest is recorded only once they succeeded). */
  readonly pending: ReadonlySet<string>;
  isHook(p: PlannedObject): boolean;
}

export function planHooks(prepared: PreparedSync): HookPlan {
  const installing = !prepared.record.status?.lastAppliedRevision;
  const hooks = new Map<string, Hook>();
  for (const p of prepared.objects) {
    const h = hookOf(p.object);
    if (h && h !== 'skip') hooks.set(p.key, h);
  }
  const due = prepared.objects.filter((p) => {
    const h = hooks.get(p.key);
    return h && p.change !== 'unchanged' && p.change !== 'skip' && (installing ? h.onInstall : h.onUpgrade);
  });
  const phase = (ph: HookPhase) => due.filter((p) => hooks.get(p.key)?.phase === ph).sort((a, b) => compareHooks(a.object, b.object));
  return { pre: phase('pre'), post: phase('post'), pending: new Set(due.map((p) => p.key)), isHook: (p) => hooks.has(p.key) };
}

/**
 * The inventory entry of a hook due this round that has not run yet: its previous entry, or one
 * with an empty digest, so a crash before it ran makes the next round run it.
 */
export function entryOfUnranHook(p: PlannedObject, previous: ReadonlyMap<string, InventoryEntry>): InventoryEntry {
  return previous.get(p.key) ?? { key: p.key, apiVersion: p.object.apiVersion, digest: '' };
}

/** A hook is recreated, never updated (a Job's template is immutable): validated by a dry-run under another name. */
export function asRecreatedHook(obj: KubeObject): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, name: `${(obj.metadata.name ?? '').slice(0, 48)}-infra-dry-run` } };
}

/** Runs hooks one after the other; stops at the first that fails. Returns the keys that succeeded and the failure. */
export async function runHooks(
  prepared: PreparedSync,
  hooks: readonly PlannedObject[],
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<{ succeeded: string[]; error?: StatusError }> {
  const succeeded: string[] = [];
  for (const p of hooks) {
    let error: StatusError | undefined;
    try {
      error = await runHook(prepared, p, options.timeoutMs, options.signal);
    } catch (err) {
      if (err instanceof ContentError) error = err.status;
      else if (err instanceof KubeApiError && !isTransient(err)) error = { reason: 'HookFailed', message: `${describeObject(p.object)}: ${err.message}`, where: where(p.manifest) };
      else throw err;
    }
    if (error) return { succeeded, error };
    succeeded.push(p.key);
  }
  return { succeeded };
}

async function runHook(prepared: PreparedSync, p: PlannedObject, timeoutMs: number, signal?: AbortSignal): Promise<StatusError | undefined> {
  const { applier } = prepared.cluster;
  const hook = hookOf(p.object) as Hook;
  const info = p.info ?? (await applier.info(p.object, signal));
  if (!info) throw new ContentError({ reason: 'ValidationFailed', message: `unknown kind ${p.object.kind} in ${p.object.apiVersion} (${describeObject(p.object)})`, where: where(p.manifest) });
  const { namespace, name = '' } = p.object.metadata;
  if (hook.deletePolicies.includes('before-hook-creation')) await deleteAndWait(prepared, info, p.object, timeoutMs, signal);
  signal?.throwIfAborted(); // fenced: no write once the shard's lease is lost
  await applier.apply(info, p.object, { dryRun: false, force: prepared.app.conflicts === 'force', signal });
  const outcome = await waitFor(
    async () => {
      const live = await applier.get(info, namespace, name, signal);
      return live ? finished(live) : { ok: false, message: 'deleted while running' };
    },
    { timeoutMs, intervalMs: 250, ...(signal ? { signal } : {}) },
  );
  if (outcome?.ok) {
    if (hook.deletePolicies.includes('hook-succeeded')) await applier.delete(info, namespace, name, signal);
    return undefined;
  }
  // Failed or timed out, as Helm counts it.
  if (hook.deletePolicies.includes('hook-failed')) await applier.delete(info, namespace, name, signal);
  const message = outcome ? outcome.message : `not finished within ${Math.round(timeoutMs / 1000)}s`;
  return { reason: 'HookFailed', message: `${hook.phase}-sync hook ${describeObject(p.object)}: ${message}`, where: where(p.manifest) };
}

/** Done or failed, or undefined while it runs. */
export function finished(live: KubeObject): { ok: boolean; message: string } | undefined {
  const status = (live['status'] ?? {}) as { phase?: string; conditions?: { type?: string; status?: string; message?: string; reason?: string }[] };
  if (live.kind === 'Job' && live.apiVersion === 'batch/v1') {
    const c = (type: string) => status.conditions?.find((x) => x.type === type && x.status === 'True');
    if (c('Complete')) return { ok: true, message: 'complete' };
    const failed = c('Failed');
    return failed ? { ok: false, message: `Job failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim() } : undefined;
  }
  if (live.kind === 'Pod' && live.apiVersion === 'v1') {
    if (status.phase === 'Succeeded') return { ok: true, message: 'succeeded' };
    return status.phase === 'Failed' ? { ok: false, message: 'Pod failed' } : undefined;
  }
  const h = healthOf(live);
  if (h.status === 'Current') return { ok: true, message: 'healthy' };
  return h.status === 'Failed' ? { ok: false, message: h.message } : undefined;
}

async function deleteAndWait(prepared: PreparedSync, info: ResourceInfo, obj: KubeObject, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const { applier } = prepared.cluster;
  const { namespace, name = '' } = obj.metadata;
  try {
    await applier.delete(info, namespace, name, signal);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
  }
  const gone = await waitFor(async () => ((await applier.get(info, namespace, name, signal)) ? undefined : true), { timeoutMs, intervalMs: 100, ...(signal ? { signal } : {}) });
  if (!gone) throw new ContentError({ reason: 'HookFailed', message: `previous ${describeObject(obj)} still being deleted after ${Math.round(timeoutMs / 1000)}s`, where: describeObject(obj) });
}
