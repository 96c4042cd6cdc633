import type { KubeObject, Manifest } from '../types.ts';

/**
 * Helm hooks (`helm.sh/hook`), read the way a GitOps sync can honour them. Pure.
 * - pre-install / pre-upgrade: applied before the app's other objects (after its CRDs and Namespaces);
 * - post-install / post-upgrade: applied once the app's objects are healthy;
 * - test hooks, and delete and rollback hooks (no such events in a sync), are never applied;
 * - `helm.sh/hook-weight` orders hooks of a phase; `helm.sh/hook-delete-policy`
 *   (before-hook-creation by default, hook-succeeded, hook-failed) says when to delete them.
 */

export const HOOK_ANNOTATION = 'helm.sh/hook';
export const HOOK_WEIGHT_ANNOTATION = 'helm.sh/hook-weight';
export const HOOK_DELETE_POLICY_ANNOTATION = 'helm.sh/hook-delete-policy';

export type HookPhase = 'pre' | 'post';
export type DeletePolicy = 'before-hook-creation' | 'hook-succeeded' | 'hook-failed';

export interface Hook {
  readonly phase: HookPhase;
  /** Runs when the app is installed (first sync on a cluster). */
  readonly onInstall: boolean;
  /** Runs when the app is upgraded (any later sync that changes the hook). */
  readonly onUpgrade: boolean;
  readonly weight: number;
  readonly deletePolicies: readonly DeletePolicy[];
}

const POLICIES: readonly DeletePolicy[] = ['before-hook-creation', 'hook-succeeded', 'hook-failed'];

/** The hook an object is, `skip` for hooks a sync never applies, undefined for an ordinary object. */
export function hookOf(obj: KubeObject): Hook | 'skip' | undefined {
  const raw = obj.metadata.annotations?.[HOOK_ANNOTATION];
  if (raw === undefined) return undefined;
  const events = new Set(raw.split(',').map((e) => e.trim()).filter(Boolean));
  const pre = events.has('pre-install') || events.has('pre-upgrade');
  const post = events.has('post-install') || events.has('post-upgrade');
  if (!pre && !post) return 'skip';
  const weight = Number.parseInt(obj.metadata.annotations?.[HOOK_WEIGHT_ANNOTATION] ?? '0', 10);
  const policyText = obj.metadata.annotations?.[HOOK_DELETE_POLICY_ANNOTATION];
  const deletePolicies = policyText === undefined ? ['before-hook-creation' as const] : POLICIES.filter((p) => policyText.split(',').map((x) => x.trim()).includes(p));
  return {
    phase: pre ? 'pre' : 'post',
    onInstall: events.has(pre ? 'pre-install' : 'post-install'),
    onUpgrade: events.has(pre ? 'pre-upgrade' : 'post-upgrade'),
    weight: Number.isFinite(weight) ? weight : 0,
    deletePolicies,
  };
}

/** The manifests without the hooks a sync never applies (tests, delete and rollback hooks). */
export function withoutSkippedHooks(manifests: readonly Manifest[]): Manifest[] {
  return manifests.filter((m) => hookOf(m.object) !== 'skip');
}

/** Helm's order within a phase: weight, then kind, then name. */
export function compareHooks(a: KubeObject, b: KubeObject): number {
  const wa = (hookOf(a) as Hook | undefined)?.weight ?? 0;
  const wb = (hookOf(b) as Hook | undefined)?.weight ?? 0;
  if (wa !== wb) return wa - wb;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  const na = a.metadata.name ?? '';
  const nb = b.metadata.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}
