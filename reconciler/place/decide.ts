import { freeOf, plus } from './capacity.ts';
import { context } from './context.ts';
import { divideReplicas } from './divide.ts';
import { failover } from './failover.ts';
import { placeApp } from './placement.ts';
import { pick, rankRule } from './select.ts';
import type { Context } from './context.ts';
import type { Decision, DecideInput, DesiredCluster, Explanation, MoveRecord, PlacementState } from './types.ts';

/** Moves kept in a placement's history (newest last). */
export const HISTORY_CAP = 100;

/**
 * The whole placement and failover decision for one app at `now`: filter candidates (targets) → health → capacity →
 * rank by preference/weights → spreadBy → maxClusters, then the failover policy against the stored state. Pure: the
 * same input always gives the same decision and explanation.
 */
export function decide(input: DecideInput): Decision {
  const { app, clusters } = input;
  const candidates = placeApp(app, clusters);
  const policy = app.placement;
  const notCandidate = (n: string) => !candidates.some((c) => c.name === n);
  const explainAll = (chosen: readonly string[], rule: (n: string) => string): Explanation[] =>
    [...clusters].map((c) => c.name).sort().map((n) => ({ cluster: n, chosen: chosen.includes(n), rule: notCandidate(n) ? 'targets: not named and the selector does not match' : rule(n) }));
  if (!policy) {
    const names = candidates.map((c) => c.name);
    return {
      desired: names.map((cluster) => ({ cluster })),
      explain: explainAll(names, () => 'targets: no placement policy, every candidate'),
      moves: [],
      purge: [],
      pending: [],
      next: { app: app.name, clusters: names, home: names, active: names, moves: input.state?.moves ?? [], pending: [], revision: input.state?.revision ?? 0 },
    };
  }
  const ctx = context(input, policy, candidates);
  const r = policy.failover ? failover(ctx) : { active: [...ctx.home], leftBehind: [], moves: placementMoves(input.state, ctx.home, input.now), purge: [], pending: [], blocked: [], notes: new Map<string, string>() };
  const desired = withReplicas(ctx, r.active);
  const pending = [...r.pending].sort((a, b) => cmp(a.from, b.from) || cmp(a.to ?? '', b.to ?? ''));
  const moves = r.moves;
  const clustersNow = [...new Set([...r.active, ...r.leftBehind])].sort();
  const next: PlacementState = {
    app: app.name,
    clusters: clustersNow,
    home: ctx.home,
    active: desired.map((d) => d.cluster),
    moves: [...(input.state?.moves ?? []), ...moves].slice(-HISTORY_CAP),
    pending,
    revision: (input.state?.revision ?? 0) + (moves.length > 0 ? 1 : 0),
    ...(policy.replicas === 'Divided' && input.demand.replicas > 0 ? { replicas: Object.fromEntries(desired.map((d) => [d.cluster, d.replicas ?? 0])) } : {}),
  };
  const open = ctx.ranked.filter((c) => !r.active.includes(c.name) && (!policy.failover || ctx.isReady(c.name)) && !ctx.capacityRule(c.name));
  const rejected = pick(open, policy, r.active.map((n) => ctx.byName.get(n)).filter((c) => c !== undefined)).rejected;
  const explain = explainAll(r.active, (n) => {
    const note = r.notes.get(n);
    if (r.active.includes(n)) return note ?? rankRule(ctx.byName.get(n)!, policy);
    if (note) return note;
    if (policy.failover && !ctx.isReady(n)) return ctx.healthRule(n);
    return ctx.capacityRule(n) ?? rejected.get(n) ?? 'standby: the chosen clusters are enough';
  });
  return { desired, explain, moves, purge: [...r.purge].sort(), pending, ...(r.blocked.length > 0 ? { blocked: r.blocked.join('; ') } : {}), next };
}

function withReplicas(ctx: Context, active: readonly string[]): DesiredCluster[] {
  const order = ctx.ranked.map((c) => c.name).filter((n) => active.includes(n));
  const rest = active.filter((n) => !order.includes(n)).sort();
  const names = [...order, ...rest];
  const { demand, state, capacity } = ctx.input;
  if (ctx.policy.replicas !== 'Divided' || demand.replicas === 0) return names.map((cluster) => ({ cluster }));
  const split = divideReplicas(
    demand.replicas,
    names.map((n) => {
      const cap = capacity.get(n);
      const mine = state?.replicas?.[n];
      const onIt = state?.clusters.includes(n) ?? false;
      // The app's own pods on a cluster are in its requests already: add them back, or treat the room as unknown.
      const free = !cap ? undefined : !onIt ? freeOf(cap) : mine !== undefined ? plus(freeOf(cap), demand.perReplica, mine) : undefined;
      return { cluster: n, weight: ctx.policy.weights?.[n] ?? 1, ...(free ? { free } : {}) };
    }),
    demand.perReplica,
  );
  return names.map((cluster) => ({ cluster, replicas: split.get(cluster) ?? 0 }));
}

/** Without a failover policy the app simply follows the policy's choice; record what changed. */
function placementMoves(state: PlacementState | undefined, home: readonly string[], now: number): MoveRecord[] {
  const before = state ? (state.active ?? state.clusters) : [];
  return [
    ...home.filter((n) => !before.includes(n)).map((to) => ({ to, reason: 'placement' as const, at: now, detail: `placed on ${to} by policy` })),
    ...before.filter((n) => !home.includes(n)).map((from) => ({ from, reason: 'placement' as const, at: now, detail: `no longer chosen by policy` })),
  ];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

