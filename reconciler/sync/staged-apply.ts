import { KubeApiError } from '../../clusters/errors.ts';
import { isTransient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import type { Stage } from '../apply/object-policy.ts';
import { healthOf } from '../health/kstatus.ts';
import { mapLimit } from '../pool.ts';
import { describeObject, type StatusError } from '../types.ts';
import { ClusterError, ContentError, where, type PlannedObject, type PreparedSync } from './target.ts';

/**
 * Staged server-side apply of a prepared sync: CRDs and Namespaces (CRDs waited for until
 * Established), then cluster-scoped, then namespaced objects. Stops after the first stage
 * with errors. A transient failure is thrown (the caller retries the whole sync).
 */

export interface AppliedObjects {
  /** Keys applied in this round, with the resourceVersion the apply returned. */
  readonly applied: ReadonlyMap<string, string>;
  /** Keys that were healthy the moment their apply returned (ConfigMaps, Secrets, RBAC). */
  readonly healthyOnApply: ReadonlySet<string>;
  /** metadata.generation the apply returned (a later one means someone changed the spec since). */
  readonly generations: ReadonlyMap<string, number>;
  readonly errors: readonly StatusError[];
}

/** Whether the object is written this round: changed in Git, or drifted and drift is corrected. */
export function isToApply(p: PlannedObject, detectOnly: boolean): boolean {
  return p.change === 'apply' || (p.change === 'drifted' && !detectOnly);
}

export interface StagedApplyOptions {
  readonly concurrency: number;
  readonly signal?: AbortSignal;
  /** Objects this step leaves to another (Helm hooks). */
  readonly skip?: (p: PlannedObject) => boolean;
  /** Runs after CRDs and Namespaces, before the other objects (pre hooks); errors stop the apply. */
  readonly beforeNamespaced?: () => Promise<readonly StatusError[]>;
}

export async function applyStaged(prepared: PreparedSync, options: StagedApplyOptions): Promise<AppliedObjects> {
  const { app, cluster } = prepared;
  const { applier } = cluster;
  const signal = options.signal;
  const detectOnly = app.drift === 'detect';
  const applied = new Map<string, string>();
  const healthyOnApply = new Set<string>();
  const generations = new Map<string, number>();
  const errors: StatusError[] = [];
  for (const stage of [0, 1, 2] as Stage[]) {
    if (stage === 1 && options.beforeNamespaced) {
      errors.push(...(await options.beforeNamespaced()));
      if (errors.length > 0) break;
    }
    const batch = prepared.objects.filter((p) => p.stage === stage && isToApply(p, detectOnly) && !options.skip?.(p));
    const results = await mapLimit(batch, options.concurrency, async (p) => {
      const info = p.info ?? (await applier.info(p.object, signal));
      if (!info) throw new ContentError({ reason: 'ValidationFailed', message: `unknown kind ${p.object.kind} in ${p.object.apiVersion} after its CRDs were applied`, where: where(p.manifest) });
      signal?.throwIfAborted(); // fenced: no write once the shard's lease is lost
      const out = await applier.apply(info, p.object, { dryRun: false, force: app.conflicts === 'force', signal });
      applied.set(p.key, out.metadata.resourceVersion ?? '');
      if (out.metadata.generation !== undefined) generations.set(p.key, out.metadata.generation);
      if (healthOf(out).status === 'Current') healthyOnApply.add(p.key);
    });
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') continue;
      if (isTransient(r.reason)) throw r.reason;
      errors.push(applyError(r.reason, batch[i] as PlannedObject, cluster.spec.name));
    }
    const crds = batch.filter((p) => p.object.kind === 'CustomResourceDefinition');
    if (stage === 0 && crds.length > 0) {
      await waitCrdsEstablished(prepared, crds, signal);
      applier.discovery.invalidate();
    }
    if (errors.length > 0) break;
  }
  return { applied, healthyOnApply, generations, errors };
}

/** A failed apply as the status names it: on this cluster, this object. */
function applyError(err: unknown, p: PlannedObject, cluster: string): StatusError {
  if (err instanceof ContentError || err instanceof ClusterError) return err.status;
  const at = `cluster ${cluster}: ${describeObject(p.object)}`;
  const message = `${describeObject(p.object)}: ${String((err as Error).message ?? err)}`;
  if (err instanceof KubeApiError && err.status === 403) return { reason: 'Forbidden', message, where: at };
  if (err instanceof KubeApiError && err.status === 409) return { reason: 'Conflict', message, where: at };
  return { reason: 'ApplyFailed', message, where: at };
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
