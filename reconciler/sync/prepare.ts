import type { ResourceInfo } from '../../clusters/discovery.ts';
import { KubeApiError } from '../../clusters/errors.ts';
import { isSchemaError, isTransient } from '../../clusters/kube-client.ts';
import { APP_LABEL, APPLY_ANNOTATION, digestOf, FIELD_MANAGER, isCreateOnly, isSkipped, owned, PRUNE_ANNOTATION, stageOf } from '../apply/object-policy.ts';
import { driftOf, ignoredPointers } from '../drift/compare.ts';
import { byKey } from '../inventory/inventory.ts';
import { mapLimit } from '../pool.ts';
import { corruptStatus, ownedByOtherStatus } from '../status/app-record.ts';
import { describeObject, groupOf, keyOf, parseKey, type KubeObject, type Manifest, type StatusError } from '../types.ts';
import type { AppSpec } from '../../stacks/gitops.ts';
import type { OwnedMeta } from './round-cache.ts';
import { hookOf } from '../render/helm-hooks.ts';
import { asRecreatedHook } from './hooks.ts';
import { ClusterError, ContentError, where, type ClusterTarget, type PlannedObject, type PreparedSync } from './target.ts';

/**
 * The first half of a sync, which writes nothing: resolve every object, find what changed
 * since the last apply (digest and resourceVersion from the inventory), and validate each
 * changed object with a strict server-side dry-run. A broken revision fails here, everywhere,
 * before anything is written.
 */
export async function prepareSync(
  app: AppSpec,
  revision: string,
  manifests: readonly Manifest[],
  cluster: ClusterTarget,
  options: { concurrency: number; signal?: AbortSignal },
): Promise<PreparedSync> {
  const { applier } = cluster;
  const record = await cluster.round.record(app.name, options.signal);
  if (record.corrupt) throw new ClusterError(corruptStatus(app.name, cluster.spec.name, record.corrupt).error as StatusError);
  if (record.ownedBy) throw new ClusterError(ownedByOtherStatus(app.name, cluster.spec.name, cluster.round.stack, record.ownedBy).error as StatusError);
  const digestSecret = await cluster.round.digestKey(options.signal);
  const crdKinds = new Set(
    manifests
      .filter((m) => m.object.kind === 'CustomResourceDefinition')
      .map((m) => {
        const spec = m.object['spec'] as { group?: string; names?: { kind?: string } } | undefined;
        return `${spec?.group ?? ''}/${spec?.names?.kind ?? ''}`;
      }),
  );

  const resolved: { m: Manifest; info: ResourceInfo | undefined; object: KubeObject }[] = [];
  for (const m of manifests) {
    const info = await applier.info(m.object, options.signal);
    if (!info && !crdKinds.has(`${groupOf(m.object.apiVersion)}/${m.object.kind}`)) {
      throw new ContentError({
        reason: 'ValidationFailed',
        message: `unknown kind ${m.object.kind} in ${m.object.apiVersion} (${describeObject(m.object)}): the cluster does not serve it and no CRD in this revision defines it`,
        where: where(m),
      });
    }
    const namespaced = info ? info.namespaced : true;
    const namespace = namespaced ? (m.object.metadata.namespace ?? app.namespace ?? 'default') : undefined;
    const base = namespaced ? m.object : { ...m.object, metadata: { ...m.object.metadata, namespace: undefined } };
    resolved.push({ m, info, object: owned(base, app.name, namespace) });
  }
  if (app.createNamespace) resolved.push(...(await namespacesToCreate(cluster, app, resolved, options.signal)));
  const seen = new Map<string, Manifest>();
  for (const r of resolved) {
    const key = keyOf(r.object);
    const first = seen.get(key);
    if (first) {
      throw new ContentError({ reason: 'ValidationFailed', message: `${describeObject(r.object)} is defined twice (first at ${where(first)})`, where: where(r.m) });
    }
    seen.set(key, r.m);
  }

  const liveOwned = await liveOwnedObjects(cluster, app.name, resolved, record.inventory.entries.map((e) => ({ key: e.key, apiVersion: e.apiVersion })), options.signal);
  const inventory = byKey(record.inventory);
  const renderNamespaces = new Set(resolved.filter((r) => r.object.kind === 'Namespace' && r.object.apiVersion === 'v1').map((r) => r.object.metadata.name));

  const planned = await mapLimit(resolved, options.concurrency, async ({ m, info, object }): Promise<PlannedObject> => {
    const key = keyOf(object);
    const digest = digestOf(object, digestSecret);
    const live = liveOwned.get(key);
    const base = { manifest: m, object, key, digest, info, stage: stageOf(object, info?.namespaced ?? true), drift: [] as string[], ...(live?.rv ? { liveRv: live.rv } : {}) };
    if (isSkipped(object)) return { ...base, change: 'skip' };
    const entry = inventory.get(key);
    // A Helm hook that ran at this digest stays done, even when its policy deleted it (sync/hooks.ts).
    const hook = hookOf(object) !== undefined;
    if (hook && entry?.digest === digest) return { ...base, change: 'unchanged' };
    if (!info) return { ...base, change: 'apply' };
    if (entry && entry.digest === digest && live?.rv !== undefined && live.rv === entry.rv) return { ...base, change: 'unchanged' };

    let afterApply: KubeObject;
    try {
      afterApply = await applier.apply(info, hook && live ? asRecreatedHook(object) : object, { dryRun: true, force: app.conflicts === 'force', signal: options.signal });
    } catch (err) {
      const ns = object.metadata.namespace;
      if (err instanceof KubeApiError && err.status === 404 && ns && renderNamespaces.has(ns)) {
        // Its namespace comes with this revision: validate the object in one that exists.
        await validateElsewhere(cluster, info, object, m, app, options.signal);
        return { ...base, change: 'apply' };
      }
      throw await classifyDryRunError(err, cluster, info, object, m, app, live !== undefined, options.signal);
    }
    if (hook) return { ...base, change: 'apply' };
    const current = live ? await applier.get(info, object.metadata.namespace, object.metadata.name ?? '', options.signal) : undefined;
    if (!current) return { ...base, change: 'apply' };
    if (isCreateOnly(object)) return { ...base, change: 'skip' };
    const drift = driftOf(current, afterApply, ignoredPointers(object, app.ignore));
    if (drift.length === 0) return { ...base, change: 'unchanged', liveRv: current.metadata.resourceVersion ?? '' };
    return { ...base, drift, change: entry && entry.digest === digest ? 'drifted' : 'apply' };
  });

  const objects: PlannedObject[] = [];
  for (const p of planned) {
    if (p.status === 'rejected') throw p.reason;
    objects.push(p.value);
  }
  return { app, cluster, revision, record, objects, liveOwned };
}

async function validateElsewhere(cluster: ClusterTarget, info: ResourceInfo, object: KubeObject, m: Manifest, app: AppSpec, signal?: AbortSignal): Promise<void> {
  try {
    await cluster.applier.apply(info, { ...object, metadata: { ...object.metadata, namespace: 'default' } }, { dryRun: true, force: app.conflicts === 'force', signal });
  } catch (err) {
    throw await classifyDryRunError(err, cluster, info, object, m, app, false, signal);
  }
}

/**
 * Whose fault a failed dry-run is. The revision's (a ContentError, the same on every cluster):
 * a schema or validation error of the object itself. This cluster's (a ClusterError, recorded
 * on it alone): a 403, a conflict with another field manager, or an object that is valid alone
 * but not merged with fields someone else set on the live object. Outages and webhooks with no
 * backend pass through as they are (retried).
 */
async function classifyDryRunError(err: unknown, cluster: ClusterTarget, info: ResourceInfo, object: KubeObject, m: Manifest, app: AppSpec, exists: boolean, signal?: AbortSignal): Promise<unknown> {
  if (isTransient(err) || !(err instanceof KubeApiError)) return err;
  const at = `cluster ${cluster.spec.name}: ${describeObject(object)}`;
  if (err.status === 403) return new ClusterError({ reason: 'Forbidden', message: `${describeObject(object)}: ${err.message}`, where: at });
  if (err.status === 409) return new ClusterError({ reason: 'Conflict', message: `${describeObject(object)}: ${err.message}`, where: at });
  const missingNs = /namespaces "([^"]+)" not found/.exec(err.message);
  if (err.status === 404 && missingNs) {
    return new ContentError({
      reason: 'ValidationFailed',
      message: `${describeObject(object)}: namespace "${missingNs[1]}" does not exist and this revision does not create it: add a Namespace manifest, or set createNamespace: true on app "${app.name}"`,
      where: where(m),
    });
  }
  if (exists && (err.status === 422 || err.status === 400) && !isSchemaError(err) && (await validAlone(cluster, info, object, app, signal))) {
    const managers = await otherManagers(cluster, info, object, signal);
    return new ClusterError({
      reason: 'Conflict',
      message: `${describeObject(object)}: Git's fields are valid alone but not merged with the live object's: ${err.message}; fields also managed by ${managers.join(', ') || 'no other manager'} (a hand edit?): undo it, or let Git own those fields`,
      where: at,
    });
  }
  return new ContentError({ reason: 'ValidationFailed', message: `${describeObject(object)}: ${err.message}`, where: where(m) });
}

/** Whether the object passes a dry-run on its own, under a name no live object has. */
async function validAlone(cluster: ClusterTarget, info: ResourceInfo, object: KubeObject, app: AppSpec, signal?: AbortSignal): Promise<boolean> {
  const probe = { ...object, metadata: { ...object.metadata, name: `infra-probe-${digestOf(object).slice(0, 12)}` } };
  try {
    await cluster.applier.apply(info, probe, { dryRun: true, force: app.conflicts === 'force', signal });
    return true;
  } catch (err) {
    if (isTransient(err) || !(err instanceof KubeApiError)) throw err;
    return false;
  }
}

/** Field managers of the live object other than ours, with how they wrote (`kubectl-edit (Update)`). */
async function otherManagers(cluster: ClusterTarget, info: ResourceInfo, object: KubeObject, signal?: AbortSignal): Promise<string[]> {
  const live = await cluster.applier.get(info, object.metadata.namespace, object.metadata.name ?? '', signal);
  const entries = (live?.metadata['managedFields'] as { manager?: string; operation?: string }[] | undefined) ?? [];
  return [...new Set(entries.filter((e) => e.manager && e.manager !== FIELD_MANAGER).map((e) => `${e.manager} (${e.operation ?? '?'})`))].sort();
}

/** Namespaces the objects use that the revision does not contain and the cluster does not have (createNamespace: true). */
async function namespacesToCreate(
  cluster: ClusterTarget,
  app: AppSpec,
  resolved: readonly { info: ResourceInfo | undefined; object: KubeObject }[],
  signal?: AbortSignal,
): Promise<{ m: Manifest; info: ResourceInfo | undefined; object: KubeObject }[]> {
  const rendered = new Set(resolved.filter((r) => r.object.kind === 'Namespace' && r.object.apiVersion === 'v1').map((r) => r.object.metadata.name));
  const used = [...new Set(resolved.map((r) => r.object.metadata.namespace).filter((ns): ns is string => !!ns && !rendered.has(ns)))].sort();
  const info = await cluster.applier.info({ apiVersion: 'v1', kind: 'Namespace', metadata: {} }, signal);
  const out: { m: Manifest; info: ResourceInfo | undefined; object: KubeObject }[] = [];
  for (const name of used) {
    const live = info ? await cluster.applier.get(info, undefined, name, signal) : undefined;
    if (live && live.metadata.labels?.[APP_LABEL] !== app.name) continue; // someone else's (or Kubernetes'): leave it alone
    // Like Argo CD's CreateNamespace: created if absent, never changed or pruned afterwards.
    const object: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations: { [APPLY_ANNOTATION]: 'create-only', [PRUNE_ANNOTATION]: 'disabled' } } };
    out.push({ m: { object, origin: { file: `stack: app ${app.name} createNamespace` } }, info, object: owned(object, app.name, undefined) });
  }
  return out;
}

/** Our objects in the cluster (by ownership label), from the round's shared per-kind lists. */
async function liveOwnedObjects(
  cluster: ClusterTarget,
  app: string,
  resolved: readonly { info: ResourceInfo | undefined; object: KubeObject }[],
  inventoryKinds: readonly { key: string; apiVersion: string }[],
  signal?: AbortSignal,
): Promise<Map<string, OwnedMeta>> {
  const infos = new Map<string, ResourceInfo>();
  for (const r of resolved) if (r.info) infos.set(`${r.info.group}/${r.info.plural}`, r.info);
  for (const e of inventoryKinds) {
    const info = await cluster.applier.info({ apiVersion: e.apiVersion, kind: parseKey(e.key).kind, metadata: {} }, signal);
    if (info) infos.set(`${info.group}/${info.plural}`, info);
  }
  const out = new Map<string, OwnedMeta>();
  for (const info of infos.values()) for (const [k, v] of await cluster.round.ownedBy(info, app, signal)) out.set(k, v);
  return out;
}
