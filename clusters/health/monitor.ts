import { setTimeout as delay } from 'node:timers/promises';
import { isAbort } from '../../stacks/errors.ts';
import { clocksChanged, nextHealth, publicHealth } from './health-state.ts';
import type { HealthStore } from './health-store.ts';
import { probeCluster, type ProbeClient } from './probe.ts';
import { DEFAULT_PROBE_INTERVAL_MS, DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_THRESHOLDS, type ClusterHealth, type HealthRecord, type HealthState, type HealthThresholds, type ProbeResult } from './types.ts';

/**
 * Probes every cluster every interval, runs the state machine, persists each change of a
 * clock BEFORE announcing it (a replica that dies right after cannot have acted on a clock the
 * next one does not see) and announces it. On start it loads the stored clocks, so a restarted
 * replica continues them instead of starting over.
 */

export interface HealthMonitorOptions {
  /** The clusters to probe now (called every round: the stack may reload). */
  readonly clusters: () => readonly ProbeClient[];
  readonly store?: HealthStore;
  readonly intervalMs?: number;
  readonly probeTimeoutMs?: number;
  readonly thresholds?: HealthThresholds;
  readonly identity?: string;
  readonly onChange?: (cluster: string, health: ClusterHealth, previous: ClusterHealth | undefined) => void;
  /** After every probe: for the `infra_cluster_health{cluster,state}` gauge (1 for the current state, 0 for the others). */
  readonly onMetric?: (cluster: string, state: HealthState, all: readonly HealthState[]) => void;
  /** A failed store write or load (the monitor keeps probing; a failed write is tried again every round until it succeeds). */
  readonly onError?: (err: unknown, cluster?: string) => void;
  readonly now?: () => number;
  /** Called after each round with its number (tests wait on rounds instead of sleeping). */
  readonly onRound?: (round: number) => void;
}

export const HEALTH_STATES: readonly HealthState[] = ['Ready', 'NotReady', 'Unknown'];

export class HealthMonitor {
  private readonly options: HealthMonitorOptions;
  private readonly records = new Map<string, HealthRecord>();
  private loaded = false;
  /** Clusters whose last change could not be stored: written again next round. */
  private readonly unsaved = new Set<string>();
  private round = 0;

  constructor(options: HealthMonitorOptions) {
    this.options = options;
  }

  /** Every probed (or loaded) cluster's current health, sorted by name. */
  snapshot(): Map<string, ClusterHealth> {
    const names = [...this.records.keys()].sort();
    return new Map(names.map((n) => [n, publicHealth(this.records.get(n)!)] as const));
  }

  get(cluster: string): ClusterHealth | undefined {
    const r = this.records.get(cluster);
    return r ? publicHealth(r) : undefined;
  }

  /** Loads the stored clocks (once), then probes until `signal` aborts. Resolves on abort. */
  async run(signal: AbortSignal): Promise<void> {
    await this.load(signal);
    const interval = this.options.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        await this.probeOnce(signal);
      } catch (err) {
        if (isAbort(err, signal)) break;
        this.options.onError?.(err);
      }
      try {
        await delay(Math.max(0, interval - (Date.now() - started)), undefined, { signal });
      } catch {
        break;
      }
    }
  }

  /** Loads the stored clocks; later calls do nothing. */
  async load(signal?: AbortSignal): Promise<void> {
    if (this.loaded || !this.options.store) return;
    try {
      const stored = await this.options.store.load(signal);
      for (const [name, h] of stored) if (!this.records.has(name)) this.records.set(name, { ...h, failures: 0, successes: 0 });
      this.loaded = true;
    } catch (err) {
      if (isAbort(err, signal)) throw err;
      // Unreadable store: probe anyway (clocks start now), try loading again next round.
      this.options.onError?.(err);
    }
  }

  /** One round: probe every cluster in parallel, advance, persist and announce changes. */
  async probeOnce(signal?: AbortSignal): Promise<Map<string, ClusterHealth>> {
    if (!this.loaded) await this.load(signal);
    const clients = this.options.clusters();
    const probeOptions = { timeoutMs: this.options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, ...(this.options.identity ? { identity: this.options.identity } : {}) };
    const results = await Promise.all(clients.map(async (c) => [c.cluster, await probeCluster(c, signal, probeOptions)] as const));
    await Promise.all(results.map(([cluster, probe]) => this.advance(cluster, probe, signal)));
    // A cluster gone from the stack leaves the snapshot (its stored clocks stay, should it come back).
    const current = new Set(clients.map((c) => c.cluster));
    for (const name of [...this.records.keys()]) if (!current.has(name)) this.records.delete(name);
    this.options.onRound?.(++this.round);
    return this.snapshot();
  }

  private async advance(cluster: string, probe: ProbeResult, signal?: AbortSignal): Promise<void> {
    const prev = this.records.get(cluster);
    const now = (this.options.now ?? Date.now)();
    let next = nextHealth(prev, probe, now, this.options.thresholds ?? DEFAULT_THRESHOLDS, cluster);
    if ((clocksChanged(prev, next) || this.unsaved.has(cluster)) && this.options.store) {
      try {
        const saved = await this.options.store.save(publicHealth(next), signal);
        next = { ...next, ...saved, reachable: next.reachable, ...(next.latencyMs !== undefined ? { latencyMs: next.latencyMs } : {}) };
        this.unsaved.delete(cluster);
      } catch (err) {
        if (isAbort(err, signal)) throw err;
        this.unsaved.add(cluster);
        this.options.onError?.(err, cluster);
      }
    }
    this.records.set(cluster, next);
    this.options.onMetric?.(cluster, next.state, HEALTH_STATES);
    if (clocksChanged(prev, next)) this.options.onChange?.(cluster, publicHealth(next), prev ? publicHealth(prev) : undefined);
  }
}
