import type { ResourceInfo } from '../../clusters/discovery.ts';
import { KubeApiError } from '../../clusters/errors.ts';
import { isTransient } from '../../clusters/kube-client.ts';
import { digestOf, isCreateOnly, isSkipped, owned, stageOf } from '../apply/object-policy.ts';
import { driftOf, ignoredPointers } from '../drift/compare.ts';
import { byKey } from '../inventory/inventory.ts';
import { mapLimit } from '../pool.ts';
import { describeObject, groupOf, keyOf, parseKey, type KubeObject, type Manifest } from '../types.ts';
import type { AppSpec } from '../../stacks/gitops.ts';
import type { OwnedMeta } from './round-cache.ts';
import { hookOf } from '../render/helm-hooks.ts';
import { asRecreatedHook } from './hooks.ts';
import { ContentError, where, type ClusterTarget, type PlannedObject, type PreparedSync } from './target.ts';

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
      throw asContentError(err, object, m);
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
    throw asContentError(err, object, m);
  }
}

function asContentError(err: unknown, object: KubeObject, m: Manifest): unknown {
  if (isTransient(err) || !(err instanceof KubeApiError)) return err;
  if (err.status === 409) return new ContentError({ reason: 'Conflict', message: `${describeObject(object)}: ${err.message}`, where: where(m) });
  return new ContentError({ reason: 'ValidationFailed', message: `${describeObject(object)}: ${err.message}`, where: where(m) });
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
