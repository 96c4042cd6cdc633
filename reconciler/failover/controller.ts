import { InfraError } from '../../stacks/errors.ts';
import type { AppSpec, ClusterSpec } from '../../stacks/gitops.ts';
import type { StackSpec } from '../../stacks/load.ts';
import { decide } from '../place/decide.ts';
import { demandOf } from '../place/demand.ts';
import type { AppDemand, AppHealthState, ClusterCapacity, ClusterHealth, DesiredCluster, Explanation, MoveRecord } from '../place/types.ts';
import type { AppRecord } from '../status/app-record.ts';
import { parseKey, type KubeObject } from '../types.ts';
import { PlacementConflictError } from './errors.ts';
import type { PlacementState } from './state.ts';
import type { PlacementStore } from './store.ts';
import type { PlacementView } from './targets.ts';

/**
 * `infra serve`'s failover: on every cluster health change and on a tick, for each owned app with
 * a failover policy, `decide` → persist the next state (CAS) BEFORE acting → queue a reconcile
 * onto the decided clusters → once the app is Healthy on every one of them, remove it from the
 * clusters the decision purges. Every step reads the stored state first, so a replica that takes
 * an app over (or a restarted one) finishes a move its predecessor persisted. A purge never runs
 * while a decided cluster is not Healthy: the app never ends on zero clusters.
 */

export const TICK_MS = 1_000;
const ZERO = { cpuMilli: 0, memoryBytes: 0, pods: 0 };

export interface FailoverDeps {
  readonly stack: () => StackSpec;
  readonly store: PlacementStore;
  readonly owns: (app: string) => boolean;
  readonly signalOf: (app: string) => AbortSignal | undefined;
  readonly health: () => ReadonlyMap<string, ClusterHealth>;
  readonly capacity?: () => ReadonlyMap<string, ClusterCapacity>;
  readonly demand?: (app: string) => AppDemand | undefined;
  /** The app's record on a cluster (its health and inventory there); throws when the cluster cannot be read. */
  readonly recordOf: (cluster: ClusterSpec, app: string, signal?: AbortSignal) => Promise<AppRecord>;
  /** Queues a reconcile of the app (the serve loop's queue). */
  readonly reconcile: (app: string, reason: string) => void;
  /** Removes the app from one cluster; true when nothing of it is left there. */
  readonly purge: (app: string, cluster: string, signal?: AbortSignal) => Promise<boolean>;
  readonly onMove?: (app: string, move: MoveRecord) => void;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, string>) => void;
  readonly now?: () => number;
  readonly tickMs?: number;
}

export class FailoverController implements PlacementView {
  private readonly deps: FailoverDeps;
  private readonly states = new Map<string, PlacementState>();
  /** The decided clusters last queued per app: a reconcile is queued when they change. */
  private readonly queued = new Map<string, string>();
  private readonly busy = new Set<string>();
  /** What each app's last render asks of a cluster (this process's rounds). */
  private readonly demands = new Map<string, AppDemand>();
  /** Each app's last decision's explanation rows (this process's decisions). */
  private readonly explains = new Map<string, readonly Explanation[]>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(deps: FailoverDeps) {
    this.deps = deps;
  }

  /** Apps this controller decides for: those with a failover policy. */
  apps(): AppSpec[] {
    return this.deps.stack().gitops.apps.filter((a) => a.placement?.failover !== undefined);
  }

  desired(app: string): readonly DesiredCluster[] | undefined {
    const s = this.states.get(app);
    return s ? desiredFromState(s) : undefined;
  }

  /** The app's placement as last decided here or loaded: the state and the explanation rows (absent before a decision). */
  view(app: string): { readonly state: PlacementState; readonly explain?: readonly Explanation[] } | undefined {
    const state = this.states.get(app);
    const explain = this.explains.get(app);
    return state ? { state, ...(explain ? { explain } : {}) } : undefined;
  }

  /** A round rendered the app: its demand (workload requests, PVCs) for the next decisions. */
  rendered(app: string, objects: readonly KubeObject[]): void {
    const d = demandOf(objects);
    const prev = this.demands.get(app);
    // Per-cluster renders: an app owns PVCs if any cluster's render has one.
    this.demands.set(app, prev ? { ...d, ownsPvc: d.ownsPvc || prev.ownsPvc } : d);
  }

  /** Loads the stored states (before the first round: a replica taking over never re-places from scratch). */
  async load(signal?: AbortSignal): Promise<void> {
    const wanted = new Set(this.apps().map((a) => a.name));
    for (const s of await this.deps.store.list(signal)) if (wanted.has(s.state.app)) this.states.set(s.state.app, s.state);
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.deps.tickMs ?? TICK_MS);
      });
    };
    loop();
  }

  /** A cluster's health changed: decide at once instead of at the next tick. */
  poke(): void {
    if (!this.stopped) void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One decision per owned app (apps already being decided are skipped). */
  async tick(): Promise<void> {
    await Promise.all(
      this.apps()
        .filter((a) => this.deps.owns(a.name) && !this.busy.has(a.name))
        .map(async (app) => {
          this.busy.add(app.name);
          try {
            await this.step(app);
          } catch (err) {
            if (err instanceof PlacementConflictError) return; // another writer: the next tick re-reads
            const text = err instanceof InfraError ? err.oneLine() : err instanceof Error ? err.message : String(err);
            this.deps.log('warn', `placement step failed: ${text}`, { app: app.name });
          } finally {
            this.busy.delete(app.name);
          }
        }),
    );
  }

  private async step(app: AppSpec): Promise<void> {
    const signal = this.deps.signalOf(app.name);
    const now = (this.deps.now ?? Date.now)();
    const stack = this.deps.stack();
    const stored = await this.deps.store.read(app.name, signal);
    const prev = stored?.state;
    const candidates = new Set([...(prev?.clusters ?? []), ...(prev?.purging ?? []), ...stack.clusters.map((c) => c.name)]);
    const { health: appHealth, ownsPvc: seenPvc, recorded } = await this.appHealth(app.name, stack.clusters.filter((c) => candidates.has(c.name)), signal);
    const rendered = this.deps.demand?.(app.name) ?? this.demands.get(app.name);
    // Remembered in the state: while the app's only cluster is down, its PVCs are still known.
    const ownsPvc = rendered?.ownsPvc || seenPvc || prev?.ownsPvc;
    // Never moved before it is known whether it owns PVCs (a first render, a record, or the stored state says).
    if (ownsPvc === undefined && rendered === undefined && seenPvc === undefined && app.placement?.failover?.data === undefined) return;
    const d = decide({
      app,
      clusters: stack.clusters,
      health: this.deps.health(),
      capacity: this.deps.capacity?.() ?? new Map(),
      demand: withPvc(rendered ?? { perReplica: ZERO, replicas: 0, ownsPvc: false }, ownsPvc === true),
      ...(prev ? { state: prev } : {}),
      appHealth,
      now,
    });
    // A copy on a cluster the app is neither decided for nor left behind on (a reconcile that raced a
    // purge re-created it) is purged too; a decided purge wins over the same cluster in `desired`.
    const strays = [...recorded].filter((c) => !d.next.clusters.includes(c) && !d.desired.some((x) => x.cluster === c) && prev !== undefined);
    const purging = [...new Set([...(prev?.purging ?? []), ...d.purge, ...strays])].sort();
    const kept = d.desired.filter((x) => !purging.includes(x.cluster));
    const desired = kept.map((x) => x.cluster);
    const short = Object.fromEntries(d.explain.filter((e) => !e.chosen && e.rule.startsWith('capacity:')).map((e) => [e.cluster, e.rule]));
    let next: PlacementState = { ...d.next, desired: kept, ownsPvc: ownsPvc === true, ...(d.blocked ? { blocked: d.blocked } : {}), ...(purging.length > 0 ? { purging } : {}), ...(Object.keys(short).length > 0 ? { capacity: short } : {}) };
    let version = stored?.version;
    if (!prev || !sameState(prev, next)) {
      // Persisted before anything is acted on: a replica killed after this line leaves the move to its successor.
      version = await this.deps.store.write(next, version, signal);
      for (const m of d.moves) {
        this.deps.log('info', `placement: ${m.reason} ${m.from ?? '-'} → ${m.to ?? '-'}: ${m.detail}`, { app: app.name });
        this.deps.onMove?.(app.name, m);
      }
      if (d.blocked && d.blocked !== prev?.blocked) this.deps.log('warn', `placement blocked: ${d.blocked}`, { app: app.name });
    }
    this.states.set(app.name, next);
    this.explains.set(app.name, d.explain);
    const key = desired.join(',');
    if (this.queued.get(app.name) !== key) {
      this.queued.set(app.name, key);
      this.deps.reconcile(app.name, 'placement');
    }
    // Purges wait until the app is Healthy on every decided cluster.
    if (purging.length === 0 || desired.length === 0 || !desired.every((c) => appHealth.get(c) === 'Healthy')) return;
    for (const cluster of purging) {
      if (signal?.aborted) return;
      if (!(await this.deps.purge(app.name, cluster, signal))) continue;
      const done = (next.purging ?? []).filter((c) => c !== cluster);
      const { purging: _old, ...rest } = next;
      next = { ...rest, clusters: next.clusters.filter((c) => c !== cluster), ...(done.length > 0 ? { purging: done } : {}) };
      version = await this.deps.store.write(next, version, signal);
      this.states.set(app.name, next);
      this.deps.log('info', `placement: removed from ${cluster}`, { app: app.name, cluster });
    }
  }

  /**
   * The app's health per cluster from its records (an unreachable cluster's is Unknown), and
   * whether its inventory holds PersistentVolumeClaims (undefined: no record could be read).
   */
  private async appHealth(app: string, clusters: readonly ClusterSpec[], signal?: AbortSignal): Promise<{ health: Map<string, AppHealthState>; ownsPvc?: boolean; recorded: Set<string> }> {
    const out = new Map<string, AppHealthState>();
    const recorded = new Set<string>();
    const live = this.deps.health();
    let ownsPvc: boolean | undefined;
    await Promise.all(
      clusters.map(async (c) => {
        if (live.get(c.name)?.state === 'Unknown') return out.set(c.name, 'Unknown');
        try {
          const record = await this.deps.recordOf(c, app, signal);
          const status = record.status;
          if (record.inventory.entries.length > 0 || record.status) recorded.add(c.name);
          if (record.inventory.entries.length > 0) ownsPvc = (ownsPvc ?? false) || record.inventory.entries.some((e) => parseKey(e.key).kind === 'PersistentVolumeClaim');
          out.set(c.name, status === undefined ? 'Unknown' : status.sync === 'Failed' ? 'Degraded' : status.health);
        } catch {
          out.set(c.name, 'Unknown');
        }
      }),
    );
    return { health: out, recorded, ...(ownsPvc !== undefined ? { ownsPvc } : {}) };
  }
}

/** The decided clusters of a stored state (the engine's `desired`, else where it is applied now). */
export function desiredFromState(s: PlacementState): readonly DesiredCluster[] {
  return s.desired ?? s.clusters.map((cluster) => ({ cluster }));
}

function withPvc(d: AppDemand, ownsPvc: boolean): AppDemand {
  return d.ownsPvc || !ownsPvc ? d : { ...d, ownsPvc };
}

function sameState(a: PlacementState, b: PlacementState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
