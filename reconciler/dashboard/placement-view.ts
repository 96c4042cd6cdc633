import type { ClusterCapacity, ClusterHealth, Explanation } from '../place/types.ts';
import { freeOf } from '../place/capacity.ts';
import { historyRows, placementRows, type HistoryRow } from '../failover/report.ts';
import type { PlacementState } from '../failover/state.ts';

/**
 * What the app page shows of failover (issue 12) and the cluster headers of health, shaped for
 * the dashboard's JSON: ISO times, sorted rows, no internal fields. Pure: `now` is injected.
 */

export interface PlacementAnswer {
  /** The clusters the app is decided for (where it is reconciled). */
  readonly clusters: readonly string[];
  readonly home: readonly string[];
  readonly why: string;
  /** The last decision's rows (one per candidate cluster); absent until this serve decided. */
  readonly explain?: readonly Explanation[];
  readonly pending: readonly { readonly from: string; readonly to?: string; readonly reason: string; readonly dueAt?: string; readonly secondsLeft?: number; readonly waitingFor?: string }[];
  readonly blocked?: string;
  readonly purging?: readonly string[];
}

export interface MoveAnswer extends HistoryRow {}

/** The app page's `placement` and `moves` (newest first, like its reconcile history). */
export function placementAnswer(state: PlacementState, explain: readonly Explanation[] | undefined, now: number): { placement: PlacementAnswer; moves: MoveAnswer[] } {
  const row = placementRows([state], now)[0];
  const decided = state.desired ? state.desired.map((d) => d.cluster) : [...(state.active ?? state.clusters)];
  const placement: PlacementAnswer = {
    clusters: [...decided].sort(),
    home: row?.home ?? [],
    why: row?.why ?? '',
    ...(explain ? { explain: [...explain].sort((a, b) => cmp(a.cluster, b.cluster)) } : {}),
    pending: (row?.pending ?? []).map((p) => ({
      from: p.from,
      ...(p.to ? { to: p.to } : {}),
      reason: p.reason,
      ...(p.dueAt !== undefined ? { dueAt: new Date(p.dueAt).toISOString() } : {}),
      ...(p.secondsLeft !== undefined ? { secondsLeft: p.secondsLeft } : {}),
      ...(p.waitingFor ? { waitingFor: p.waitingFor } : {}),
    })),
    ...(state.blocked ? { blocked: state.blocked } : {}),
    ...((state.purging ?? []).length > 0 ? { purging: [...(state.purging ?? [])] } : {}),
  };
  return { placement, moves: historyRows(state).reverse() };
}

export interface HealthAnswer {
  readonly state: string;
  readonly since: string;
  readonly unhealthySince?: string;
  readonly readySince?: string;
  readonly reachable: boolean;
  readonly latencyMs?: number;
}

/** A cluster's health for the overview header and the cluster page (the `cluster` event carries it). */
export function healthAnswer(h: ClusterHealth): HealthAnswer {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    state: h.state,
    since: iso(h.since),
    ...(h.unhealthySince !== undefined ? { unhealthySince: iso(h.unhealthySince) } : {}),
    ...(h.readySince !== undefined ? { readySince: iso(h.readySince) } : {}),
    reachable: h.reachable,
    ...(h.latencyMs !== undefined ? { latencyMs: h.latencyMs } : {}),
  };
}

/** How serve probes a cluster and what the last probe saw: the cluster page's Probes rows. */
export function probesAnswer(intervalMs: number, h: ClusterHealth | undefined): Record<string, string> {
  return {
    probe: 'GET /readyz, then a Lease renewal round trip (infra-system/infra-probe)',
    every: `${intervalMs / 1000}s`,
    ...(h ? { 'last answer': h.reachable ? 'reached the apiserver' : 'no answer' } : { 'last answer': 'not probed yet' }),
    ...(h?.latencyMs !== undefined ? { 'last latency': `${h.latencyMs} ms` } : {}),
  };
}

/** Free against allocatable on the cluster's Ready, schedulable nodes: the cluster page's Capacity rows. */
export function capacityAnswer(c: ClusterCapacity): Record<string, string> {
  const free = freeOf(c);
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  return {
    cpu: `${free.cpuMilli}m free of ${c.allocatable.cpuMilli}m`,
    memory: `${gib(free.memoryBytes)} free of ${gib(c.allocatable.memoryBytes)}`,
    pods: `${free.pods} free of ${c.allocatable.pods}`,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
