import { createHash } from 'node:crypto';
import type { StackSpec } from '../../stacks/load.ts';
import type { ClusterSpec } from '../../stacks/model.ts';
import { BUILTIN_PREFIX, builtinAppSpec, type BuiltinApp } from '../../reconciler/builtin-apps.ts';
import type { KubeObject, Manifest } from '../../reconciler/types.ts';
import type { Addon, AddonFacts } from './addon.ts';
import { clusterFacts } from './facts.ts';
import { ADDONS } from './registry.ts';

/**
 * The stack's add-ons as apps infra owns, one per add-on (`addon-<name>`) placed on the clusters
 * that want it. Storage and runtimes wait for the cluster's network add-on; the stack's own apps
 * wait for all of them (reconciler/builtin-apps.ts).
 */

export const ADDON_APP_PREFIX = BUILTIN_PREFIX;

export function addonAppName(addon: Addon): string {
  return `${ADDON_APP_PREFIX}${addon.name}`;
}

/** One add-on on one cluster, rendered: what `infra preview` compares. */
export interface AddonRender {
  readonly addon: string;
  readonly kind: Addon['kind'];
  readonly cluster: string;
  readonly version: string;
  /** sha256 of the rendered objects (stable JSON). */
  readonly digest: string;
  readonly objects: readonly KubeObject[];
  readonly unobservable: readonly string[];
}

/** The clusters whose add-ons infra installs (`addons: true`); the others' choices are only validated. */
export function installsAddons(c: ClusterSpec): boolean {
  return c.addons === true;
}

/** Every add-on infra installs, rendered, in stack order of clusters and registry order of add-ons. */
export function renderStackAddons(stack: Pick<StackSpec, 'hosts' | 'clusters'>): AddonRender[] {
  const out: AddonRender[] = [];
  for (const c of stack.clusters.filter(installsAddons)) {
    const f = clusterFacts(stack, c);
    for (const a of ADDONS) if (a.wanted(f)) out.push(renderOne(a, f));
  }
  return out;
}

export function renderOne(a: Addon, f: AddonFacts): AddonRender {
  const objects = a.render(f);
  return { addon: a.name, kind: a.kind, cluster: f.cluster, version: a.version, digest: digest(objects), objects, unobservable: a.unobservable(f) };
}

/** The add-on apps to hand to the reconciler, from facts per cluster (the stack's, or a test's). */
export function addonApps(facts: readonly AddonFacts[]): BuiltinApp[] {
  const out: BuiltinApp[] = [];
  for (const a of ADDONS) {
    const renders = facts.filter((f) => a.wanted(f)).map((f) => renderOne(a, f));
    if (renders.length === 0) continue;
    const byCluster = new Map(renders.map((r) => [r.cluster, r] as const));
    const networks = a.kind === 'cni' ? [] : ADDONS.filter((n) => n.kind === 'cni' && facts.some((f) => byCluster.has(f.cluster) && n.wanted(f))).map(addonAppName);
    const name = addonAppName(a);
    out.push({
      spec: builtinAppSpec(name, renders.map((r) => r.cluster), networks),
      // Like a commit: the digest first (what `infra status` shows), then the pinned version.
      revision: `${digest(renders.map((r) => [r.cluster, r.digest])).slice(0, 12)}-${a.version}`,
      manifests(cluster) {
        const r = byCluster.get(cluster);
        return (r?.objects ?? []).map((object, i): Manifest => ({ object: structuredClone(object), origin: { file: `addon ${a.name} (${cluster})`, line: i + 1 } }));
      },
    });
  }
  return out;
}

export function stackAddonApps(stack: Pick<StackSpec, 'hosts' | 'clusters'>): BuiltinApp[] {
  return addonApps(stack.clusters.filter(installsAddons).map((c) => clusterFacts(stack, c)));
}

function digest(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex');
}
