import { setTimeout as delay } from 'node:timers/promises';
import { readCapacity } from './capacity.ts';
import type { ProbeClient } from './probe.ts';
import type { ClusterCapacity } from './types.ts';

/**
 * `infra serve`'s view of each cluster's capacity, for placement: every cluster read on its own
 * (`readCapacity`, with a timeout) every `intervalMs`, and again on demand (`refresh`, e.g. when a
 * cluster turns Ready). Separate from the health probes: a slow capacity read never delays a probe.
 * A cluster whose last read failed has NO entry: placement then applies no capacity rule to it
 * (unknown room, as before capacity was read), rather than trusting a stale figure.
 */

export const DEFAULT_CAPACITY_INTERVAL_MS = 15_000;
export const DEFAULT_CAPACITY_TIMEOUT_MS = 5_000;

export interface CapacityPollerOptions {
  readonly clusters: () => readonly ProbeClient[];
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  /** A cluster's figures changed (or appeared/vanished). */
  readonly onChange?: (cluster: string) => void;
  readonly onError?: (err: unknown, cluster: string) => void;
  readonly read?: (client: ProbeClient, signal: AbortSignal) => Promise<ClusterCapacity>;
}

export class CapacityPoller {
  private readonly options: CapacityPollerOptions;
  private readonly figures = new Map<string, ClusterCapacity>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private signal: AbortSignal = new AbortController().signal;

  constructor(options: CapacityPollerOptions) {
    this.options = options;
  }

  /** The last good read of each cluster, sorted by name (no entry: unknown). */
  snapshot(): Map<string, ClusterCapacity> {
    return new Map([...this.figures.keys()].sort().map((n) => [n, this.figures.get(n)!] as const));
  }

  /** Reads every cluster once (in parallel, each bounded by the timeout). */
  async readAll(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    const clients = this.options.clusters();
    const names = new Set(clients.map((c) => c.cluster));
    for (const n of [...this.figures.keys()]) if (!names.has(n)) this.figures.delete(n);
    await Promise.all(clients.map((c) => this.readOne(c)));
  }

  /** Reads one cluster now (no-op while a read of it is running, or after the poller stopped). */
  refresh(cluster: string): void {
    const client = this.options.clusters().find((c) => c.cluster === cluster);
    if (client && !this.signal.aborted) void this.readOne(client);
  }

  /** Reads every cluster each interval (the first after one interval: `readAll` first) until `signal` aborts. Resolves on abort. */
  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    while (!signal.aborted) {
      try {
        await delay(this.options.intervalMs ?? DEFAULT_CAPACITY_INTERVAL_MS, undefined, { signal });
      } catch {
        break;
      }
      await this.readAll(signal);
    }
  }

  private readOne(client: ProbeClient): Promise<void> {
    const running = this.inFlight.get(client.cluster);
    if (running) return running;
    const p = this.read(client).finally(() => this.inFlight.delete(client.cluster));
    this.inFlight.set(client.cluster, p);
    return p;
  }

  private async read(client: ProbeClient): Promise<void> {
    const name = client.cluster;
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_CAPACITY_TIMEOUT_MS)]);
    try {
      const got = await (this.options.read ?? readCapacity)(client, signal);
      const before = this.figures.get(name);
      this.figures.set(name, got);
      if (JSON.stringify(before) !== JSON.stringify(got)) this.options.onChange?.(name);
    } catch (err) {
      if (this.signal.aborted) return;
      const had = this.figures.delete(name);
      this.options.onError?.(err, name);
      if (had) this.options.onChange?.(name);
    }
  }
}
