import type { AddonRender } from './apps.ts';

/**
 * What a stack change does to the add-ons: a pure, deterministic diff of two rendered add-on
 * sets (by cluster, then add-on name), for `infra preview`.
 */

export interface AddonSetEntry {
  readonly addon: string;
  readonly cluster: string;
  readonly version: string;
  readonly digest: string;
}

export interface AddonChange {
  readonly change: 'add' | 'change' | 'remove';
  readonly addon: string;
  readonly cluster: string;
  /** For a change: what changed (version, rendered objects). */
  readonly detail?: string;
}

export function entriesOf(renders: readonly AddonRender[]): AddonSetEntry[] {
  return renders.map((r) => ({ addon: r.addon, cluster: r.cluster, version: r.version, digest: r.digest }));
}

export function diffAddonSets(before: readonly AddonSetEntry[], after: readonly AddonSetEntry[]): AddonChange[] {
  const key = (e: AddonSetEntry) => `${e.cluster}\u0000${e.addon}`;
  const old = new Map(before.map((e) => [key(e), e] as const));
  const now = new Map(after.map((e) => [key(e), e] as const));
  const out: AddonChange[] = [];
  for (const [k, e] of now) {
    const o = old.get(k);
    if (!o) out.push({ change: 'add', addon: e.addon, cluster: e.cluster, detail: e.version });
    else if (o.version !== e.version) out.push({ change: 'change', addon: e.addon, cluster: e.cluster, detail: `${o.version} → ${e.version}` });
    else if (o.digest !== e.digest) out.push({ change: 'change', addon: e.addon, cluster: e.cluster, detail: 'rendered objects differ' });
  }
  for (const [k, o] of old) if (!now.has(k)) out.push({ change: 'remove', addon: o.addon, cluster: o.cluster });
  return out.sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : a.addon < b.addon ? -1 : a.addon > b.addon ? 1 : 0));
}

export function addonChangesText(changes: readonly AddonChange[]): string {
  if (changes.length === 0) return 'add-ons: no changes';
  const sym = { add: '+', change: '~', remove: '-' } as const;
  return ['add-ons:', ...changes.map((c) => `  ${sym[c.change]} ${c.addon} on ${c.cluster}${c.detail ? ` (${c.detail})` : ''}`)].join('\n');
}

/** One add-on on one cluster in a round: whether the round synced it (else it failed there). */
export interface AddonOutcome {
  readonly addon: string;
  readonly cluster: string;
  readonly synced: boolean;
}

/**
 * The add-ons applied after a round, from those applied before it and the stack's renders: one the
 * round synced is its new render; one it failed keeps what was applied before (a failed sync leaves
 * the previous revision in the cluster); one it did not hold is unchanged, unless the round was the
 * whole stack's, which prunes the add-ons that left the stack.
 */
export function appliedAfter(before: readonly AddonSetEntry[], wanted: readonly AddonSetEntry[], round: readonly AddonOutcome[], whole: boolean): AddonSetEntry[] {
  const key = (e: { addon: string; cluster: string }) => `${e.cluster}\u0000${e.addon}`;
  const synced = new Map(round.map((o) => [key(o), o.synced] as const));
  const old = new Map(before.map((e) => [key(e), e] as const));
  const wantedKeys = new Set(wanted.map(key));
  const out: AddonSetEntry[] = [];
  for (const e of wanted) {
    const s = synced.get(key(e));
    const prev = old.get(key(e));
    if (s === true) out.push(e);
    else if (prev) out.push(prev);
  }
  if (!whole) for (const e of before) if (!wantedKeys.has(key(e))) out.push(e);
  return out;
}
