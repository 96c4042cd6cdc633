import type { MoveRecord, PendingMove, PlacementState } from './state.ts';

/**
 * What `infra status` prints about placement: per app where it runs, why, and the moves still
 * pending with the time left on their toleration clock; `--history APP` the moves themselves.
 * Pure and deterministic (sorted, times from the state, `now` injected).
 */

export interface PlacementRow {
  readonly app: string;
  readonly clusters: readonly string[];
  readonly home: readonly string[];
  readonly why: string;
  /** Divided: the replicas given to each decided cluster. */
  readonly replicas?: Readonly<Record<string, number>>;
  readonly pending: readonly (PendingMove & { readonly secondsLeft?: number })[];
}

export function placementRows(states: readonly PlacementState[], now: number): PlacementRow[] {
  return [...states]
    .sort((a, b) => a.app.localeCompare(b.app))
    .map((s) => ({
      app: s.app,
      clusters: [...s.clusters],
      home: [...s.home],
      why: whyOf(s) + Object.keys(s.capacity ?? {}).sort().map((c) => `; not on ${c}: ${s.capacity![c]}`).join(''),
      ...(s.desired?.some((d) => d.replicas !== undefined) ? { replicas: Object.fromEntries(s.desired.map((d) => [d.cluster, d.replicas ?? 0] as const).sort((x, y) => x[0].localeCompare(y[0]))) } : {}),
      pending: [...s.pending]
        .sort((a, b) => a.from.localeCompare(b.from) || (a.to ?? '').localeCompare(b.to ?? ''))
        .map((p) => ({ ...p, ...(p.dueAt !== undefined ? { secondsLeft: Math.max(0, Math.ceil((p.dueAt - now) / 1000)) } : {}) })),
    }));
}

function whyOf(s: PlacementState): string {
  if (s.blocked) return `stays put: ${s.blocked}`;
  const away = s.home.filter((h) => !s.clusters.includes(h));
  if (away.length > 0) {
    const last = [...s.moves].reverse().find((m) => m.reason === 'failover' && m.from !== undefined && away.includes(m.from));
    return last ? `failed over from ${away.join(', ')}: ${last.detail}` : `away from home ${away.join(', ')}`;
  }
  if ((s.purging ?? []).length > 0) return `at home; still to remove from ${(s.purging ?? []).join(', ')}`;
  return 'at home';
}

export function pendingText(p: PlacementRow['pending'][number]): string {
  const to = p.to ? ` → ${p.to}` : '';
  const clock = p.secondsLeft !== undefined ? ` in ${p.secondsLeft}s` : '';
  const wait = p.waitingFor ? ` (waiting for ${p.waitingFor})` : '';
  return `${p.reason} ${p.from}${to}${clock}${wait}`;
}

export function placementLines(rows: readonly PlacementRow[]): string[] {
  return rows.map((r) => {
    const pending = r.pending.length > 0 ? `; pending: ${r.pending.map(pendingText).join('; ')}` : '';
    const on = r.replicas ? Object.keys(r.replicas).sort().map((c) => `${c}×${r.replicas![c]}`).join(', ') : '';
    return `${r.app}: on ${r.clusters.join(', ') || 'no cluster'}${on ? ` (replicas ${on})` : ''} (home ${r.home.join(', ') || '-'}) — ${r.why}${pending}`;
  });
}

export interface HistoryRow {
  readonly at: string;
  readonly from: string;
  readonly to: string;
  readonly reason: MoveRecord['reason'];
  readonly detail: string;
}

/** The app's moves, oldest first (ties by from, to, reason for a stable order). */
export function historyRows(state: PlacementState): HistoryRow[] {
  return [...state.moves]
    .map((m, i) => ({ m, i }))
    .sort((a, b) => a.m.at - b.m.at || a.i - b.i)
    .map(({ m }) => ({ at: new Date(m.at).toISOString(), from: m.from ?? '-', to: m.to ?? '-', reason: m.reason, detail: m.detail }));
}
