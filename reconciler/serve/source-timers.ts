import type { Backoff } from '../backoff.ts';
import type { GitSourceSpec } from '../../stacks/gitops.ts';

/**
 * The clocks of `infra serve`, per source: a poll every `interval` (default 1m) and a drift
 * re-check every `driftInterval` (default 5m), each jittered ±10% so many sources (or
 * replicas) do not all hit the Git server and the apiservers at the same instant.
 */

export const DEFAULT_POLL_MS = 60_000;
export const DEFAULT_DRIFT_MS = 300_000;

export type Clock = Pick<Backoff, 'now' | 'sleep' | 'random'>;

export interface SourceTimerHandlers {
  readonly poll: (source: GitSourceSpec, signal: AbortSignal) => Promise<void>;
  readonly drift: (source: GitSourceSpec) => void;
  /** The drift re-check of the apps without a source (the add-ons infra renders), every DEFAULT_DRIFT_MS. */
  readonly builtinDrift?: () => void;
}

export function jittered(ms: number, random: () => number): number {
  return Math.max(1, Math.round(ms * (0.9 + random() * 0.2)));
}

/** Runs the timers of a set of sources until `stop` (a new stack brings a new set). */
export class SourceTimers {
  private readonly controller = new AbortController();
  private readonly loops: Promise<void>[] = [];

  constructor(sources: readonly GitSourceSpec[], clock: Clock, handlers: SourceTimerHandlers) {
    const signal = this.controller.signal;
    for (const s of sources) {
      this.loops.push(every(() => jittered(s.intervalMs ?? DEFAULT_POLL_MS, clock.random), clock, signal, () => handlers.poll(s, signal)));
      this.loops.push(every(() => jittered(s.driftIntervalMs ?? DEFAULT_DRIFT_MS, clock.random), clock, signal, async () => handlers.drift(s)));
    }
    const builtinDrift = handlers.builtinDrift;
    if (builtinDrift) this.loops.push(every(() => jittered(DEFAULT_DRIFT_MS, clock.random), clock, signal, async () => builtinDrift()));
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await Promise.allSettled(this.loops);
  }
}

async function every(interval: () => number, clock: Clock, signal: AbortSignal, tick: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    try {
      await clock.sleep(interval(), signal);
    } catch {
      return; // stopped
    }
    if (signal.aborted) return;
    await tick().catch(() => undefined); // a tick reports its own failures
  }
}
