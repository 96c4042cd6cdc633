import { setTimeout as delay } from 'node:timers/promises';

/** Exponential backoff with full jitter; the clock and sleep are injectable so tests never wait for real minutes. */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
}

export const DEFAULT_BACKOFF: Backoff = {
  baseMs: 500,
  maxMs: 15_000,
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined),
  random: Math.random,
};

export function backoffDelay(b: Backoff, attempt: number): number {
  const cap = Math.min(b.maxMs, b.baseMs * 2 ** attempt);
  return Math.round(cap / 2 + (b.random() * cap) / 2);
}
