import type { ClusterSpec, FailoverSpec } from '../../stacks/gitops.ts';
import type { Context } from './context.ts';
import { iso } from './context.ts';
import { pick } from './select.ts';
import type { MoveRecord, PendingMove } from './types.ts';

const HOUR = 3_600_000;

export interface FailoverResult {
  readonly active: string[];
  readonly leftBehind: string[];
  readonly moves: MoveRecord[];
  readonly purge: string[];
  readonly pending: PendingMove[];
  readonly blocked: string[];
  /** Explanation overrides per cluster (why it was moved to, away from, or left). */
  readonly notes: Map<string, string>;
}

/**
 * The failover policy against the stored state, in four steps: move off clusters unhealthy for longer than the
 * toleration; bring the app back home (failback) once home has been Ready for the stabilization time; drop stand-ins
 * once the app is Healthy at home; purge left-behind clusters per purgeMode. Never leaves the app on zero clusters and
 * never purges a cluster it cannot reach. Pure.
 */
export function failover(ctx: Context): FailoverResult {
  const { input, policy } = ctx;
  const f = policy.failover as FailoverSpec;
  const { now, state, demand } = input;
  const r: FailoverResult = { active: [], leftBehind: [], moves: [], purge: [], pending: [], blocked: [], notes: new Map() };
  const prevActive = state ? (state.active ?? state.clusters) : [];
  if (prevActive.length === 0) return initial(ctx, r);
  r.active.push(...prevActive);
  r.leftBehind.push(...(state?.clusters ?? []).filter((n) => !prevActive.includes(n)));
  const history = state?.moves ?? [];
  let used = history.filter((m) => (m.reason === 'failover' || m.reason === 'failback') && m.at > now - HOUR).length;
  const capLeft = () => used < f.maxMovesPerHour;
  const capText = () => {
    const inWindow = [...history, ...r.moves].filter((m) => (m.reason === 'failover' || m.reason === 'failback') && m.at > now - HOUR);
    // The window frees a slot when the move that keeps the count at the cap turns an hour old.
    const freeing = inWindow[Math.max(0, inWindow.length - f.maxMovesPerHour)]?.at ?? now;
    return `maxMovesPerHour ${f.maxMovesPerHour} reached (${inWindow.length} in the last hour; next move possible at ${iso(freeing + HOUR)})`;
  };
  const pvcBlock = demand.ownsPvc && !f.data ? 'owns PersistentVolumeClaims and failover.data is not set: not moved (set data: abandon or replicated)' : undefined;
  const reachable = (n: string) => input.health.get(n)?.reachable ?? true;
  const healthy = (n: string) => input.appHealth.get(n) === 'Healthy';

  // 1. Failover: off clusters unhealthy past the toleration (clock from unhealthySince, so wobble does not reset it).
  for (const c of ctx.ranked.map((x) => x.name).filter((n) => prevActive.includes(n)).concat(prevActive.filter((n) => !ctx.byName.has(n)))) {
    const h = input.health.get(c);
    if (!h || h.state === 'Ready') continue;
    const since = h.unhealthySince ?? h.since;
    const dueAt = since + f.tolerationSeconds * 1000;
    const to = replacement(ctx, r.active, c);
    if (now < dueAt) {
      r.pending.push({ from: c, ...(to ? { to } : {}), reason: `failover: ${h.state} since ${iso(h.since)}`, dueAt });
      r.notes.set(c, `${ctx.healthRule(c)}; failover at ${iso(dueAt)} (tolerationSeconds ${f.tolerationSeconds})`);
      continue;
    }
    const why = pvcBlock ?? (!capLeft() ? capText() : !to ? `no replacement for ${c}: no other Ready candidate with room` : undefined);
    if (why || !to) {
      r.blocked.push(`${c}: ${why}`);
      r.pending.push({ from: c, reason: `failover: ${h.state} since ${iso(h.since)}`, dueAt, waitingFor: why });
      r.notes.set(c, `${ctx.healthRule(c)}; stays: ${why}`);
      continue;
    }
    used += 1;
    r.active.splice(r.active.indexOf(c), 1, to);
    r.moves.push({ from: c, to, reason: 'failover', at: now, detail: `${c} ${h.state} since ${iso(since)}, longer than tolerationSeconds ${f.tolerationSeconds}` });
    r.notes.set(to, `failover: replaces ${c}`);
    if (f.purgeMode === 'Immediately' && h.reachable) {
      r.purge.push(c);
      r.moves.push({ from: c, reason: 'purge', at: now, detail: `purgeMode Immediately: ${c} is reachable` });
      r.notes.set(c, `${ctx.healthRule(c)}; moved to ${to} and purged (purgeMode Immediately)`);
    } else {
      r.leftBehind.push(c);
      r.notes.set(c, `${ctx.healthRule(c)}; moved to ${to}`);
    }
  }

  // 2. Back home: home clusters not active — failback if the app was moved off them, else placement (a cluster that
  // was unhealthy at first placement, or one the policy newly chooses). Both wait for stabilizationSeconds of Ready.
  for (const n of ctx.home.filter((x) => !r.active.includes(x))) {
    if (!ctx.isReady(n)) continue;
    const isFailback = history.some((m) => m.reason === 'failover' && m.from === n);
    const standIn = r.active.find((x) => !ctx.home.includes(x));
    if (isFailback && !f.failback.enabled) {
      r.notes.set(n, `${ctx.healthRule(n)}; home, but failback is disabled`);
      continue;
    }
    const h = input.health.get(n);
    const readySince = h ? (h.readySince ?? h.since) : -Infinity;
    const dueAt = readySince + f.failback.stabilizationSeconds * 1000;
    const kind = isFailback ? 'failback' : 'placement';
    if (now < dueAt) {
      r.pending.push({ from: standIn ?? n, to: n, reason: `${kind}: ${n} Ready since ${iso(readySince)}`, dueAt });
      r.notes.set(n, `${ctx.healthRule(n)}; ${kind} at ${iso(dueAt)} (stabilizationSeconds ${f.failback.stabilizationSeconds})`);
      continue;
    }
    const why = isFailback ? (pvcBlock ?? (!capLeft() ? capText() : undefined)) : undefined;
    if (why) {
      r.blocked.push(`failback to ${n}: ${why}`);
      r.pending.push({ from: standIn ?? n, to: n, reason: 'failback', waitingFor: why });
      r.notes.set(n, `${ctx.healthRule(n)}; failback waits: ${why}`);
      continue;
    }
    if (isFailback) used += 1;
    r.active.push(n);
    if (r.leftBehind.includes(n)) r.leftBehind.splice(r.leftBehind.indexOf(n), 1);
    const stable = Number.isFinite(readySince) ? `${n} Ready since ${iso(readySince)}, longer than stabilizationSeconds ${f.failback.stabilizationSeconds}` : `${n} Ready`;
    r.moves.push({ ...(standIn ? { from: standIn } : {}), to: n, reason: kind, at: now, detail: stable });
    r.notes.set(n, `${kind}: home, ${stable}`);
  }

  // Clusters no longer candidates leave, as long as something else stays.
  for (const n of [...r.active]) {
    if (ctx.ranked.some((c) => c.name === n) || r.active.length <= 1) continue;
    r.active.splice(r.active.indexOf(n), 1);
    r.leftBehind.push(n);
    r.moves.push({ from: n, reason: 'placement', at: now, detail: `${n} is no longer a target` });
  }

  // 3. Stand-ins go once every home cluster runs the app Healthy again.
  const surplus = r.active.length - Math.max(1, ctx.home.length);
  if (surplus > 0) {
    const homeBack = ctx.home.every((n) => r.active.includes(n));
    const waiting = ctx.home.filter((n) => r.active.includes(n) && !healthy(n));
    const standIns = r.active.filter((n) => !ctx.home.includes(n)).reverse().slice(0, surplus);
    for (const s of standIns) {
      if (!homeBack || waiting.length > 0) {
        r.pending.push({ from: s, to: ctx.home.find((n) => !r.active.includes(n) || !healthy(n)) ?? s, reason: 'failback: stand-in kept', waitingFor: `app Healthy on ${waiting.join(', ') || ctx.home.join(', ')}` });
        r.notes.set(s, `stand-in kept until the app is Healthy on ${waiting.join(', ') || ctx.home.join(', ')}`);
        continue;
      }
      r.active.splice(r.active.indexOf(s), 1);
      r.leftBehind.push(s);
      r.notes.set(s, `stand-in: the app is Healthy at home (${ctx.home.join(', ')})`);
    }
  }

  // 4. Left-behind clusters: purged only when reachable and the app is Healthy where it is now.
  for (const n of [...r.leftBehind]) {
    const base = r.notes.get(n) ?? 'left behind';
    if (f.purgeMode === 'Never') {
      r.pending.push({ from: n, reason: 'purge', waitingFor: 'purgeMode Never: left in place' });
      r.notes.set(n, `${base}; purgeMode Never: the app is left in place`);
      continue;
    }
    const notHealthy = r.active.filter((x) => !healthy(x));
    if (!reachable(n) || notHealthy.length > 0) {
      const waitingFor = !reachable(n) ? `${n} reachable again` : `app Healthy on ${notHealthy.join(', ')}`;
      r.pending.push({ from: n, reason: 'purge', waitingFor });
      r.notes.set(n, `${base}; purge waits for ${waitingFor}`);
      continue;
    }
    r.leftBehind.splice(r.leftBehind.indexOf(n), 1);
    r.purge.push(n);
    r.moves.push({ from: n, reason: 'purge', at: now, detail: `purgeMode ${f.purgeMode}: ${n} reachable and the app Healthy on ${r.active.join(', ')}` });
    r.notes.set(n, `${base}; purged`);
  }
  return r;
}

/**
 * First Ready candidate with room that is not active, respecting spreadBy against the clusters that stay. Divided: a
 * cluster with room for the leaving cluster's whole share first, so evicted replicas do not pile onto a nearly full
 * cluster; failing that, one with room for at least one replica.
 */
function replacement(ctx: Context, active: readonly string[], leaving: string): string | undefined {
  const staying = active.filter((n) => n !== leaving).map((n) => ctx.byName.get(n)).filter((c) => c !== undefined);
  const open = (replicas?: number) => ctx.ranked.filter((c) => !active.includes(c.name) && ctx.isReady(c.name) && !ctx.capacityRule(c.name, replicas));
  const share = ctx.policy.replicas === 'Divided' ? ctx.input.state?.replicas?.[leaving] : undefined;
  const first = (pool: readonly ClusterSpec[]) => pick(pool, ctx.policy, staying, staying.length + 1).chosen[0];
  return (share !== undefined && share > 1 ? first(open(share)) : undefined) ?? first(open());
}

/** No state yet: the policy's choice among Ready clusters with room; the home choice if none is Ready. */
function initial(ctx: Context, r: FailoverResult): FailoverResult {
  const ready = pick(ctx.ranked.filter((c) => ctx.isReady(c.name) && !ctx.capacityRule(c.name)), ctx.policy).chosen;
  const chosen = ready.length > 0 ? ready : [...ctx.home];
  if (ready.length === 0) r.blocked.push(chosen.length > 0 ? `no Ready candidate with room: placed on ${chosen.join(', ')} anyway` : 'no candidate cluster');
  r.active.push(...chosen);
  for (const to of chosen) r.moves.push({ to, reason: 'placement', at: ctx.input.now, detail: `placed on ${to} by policy` });
  return r;
}
