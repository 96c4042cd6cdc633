import type { IgnoreRule } from '../../stacks/gitops.ts';
import type { KubeObject } from '../types.ts';

/**
 * Drift: the live object against what applying Git would make of it (a server-side dry-run),
 * so defaults the server fills in are never reported as noise. Pure.
 */

const VOLATILE_METADATA = ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid', 'selfLink'];

export function comparable(obj: KubeObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = obj as KubeObject & { status?: unknown };
  const meta: Record<string, unknown> = { ...metadata };
  for (const k of VOLATILE_METADATA) delete meta[k];
  return { ...rest, metadata: meta };
}

/** JSON pointers where `a` and `b` differ (leaves), at most `limit`. */
export function differingPointers(a: unknown, b: unknown, limit = 20, base = ''): string[] {
  if (Object.is(a, b)) return [];
  const bothObjects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) return [base || '/'];
  const out: string[] = [];
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of [...keys].sort()) {
    const pa = (a as Record<string, unknown>)[k];
    const pb = (b as Record<string, unknown>)[k];
    out.push(...differingPointers(pa, pb, limit - out.length, `${base}/${escapePointer(k)}`));
    if (out.length >= limit) break;
  }
  return out;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Pointers ignored for this object by the app's rules. */
export function ignoredPointers(obj: KubeObject, rules: readonly IgnoreRule[]): string[] {
  return rules
    .filter((r) => (!r.kind || r.kind === obj.kind) && (!r.name || r.name === obj.metadata.name) && (!r.namespace || r.namespace === obj.metadata.namespace))
    .flatMap((r) => r.pointers);
}

/** Drift between live and desired-after-apply, minus ignored fields. Empty: in sync. */
export function driftOf(live: KubeObject, afterApply: KubeObject, ignore: readonly string[]): string[] {
  return differingPointers(comparable(live), comparable(afterApply)).filter(
    (p) => !ignore.some((i) => p === i || p.startsWith(`${i}/`)),
  );
}
