import type { Backoff } from '../../reconciler/backoff.ts';

/** A clock that moves only when the test says so: backoff and timers with no real waiting. */
export class ManualClock implements Backoff {
  readonly baseMs = 100;
  readonly maxMs = 10_000;
  private t = 0;
  private timers: { at: number; resolve: () => void }[] = [];
  readonly random = () => 0.5;

  readonly now = () => this.t;

  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.t + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal.reason);
      }, { once: true });
    });

  /** Sleeps waiting right now. */
  get sleepers(): number {
    return this.timers.length;
  }

  /** Moves time forward, waking every sleep that ends by then (in order). */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.resolve();
      await flush();
    }
    this.t = until;
    await flush();
  }
}

/** Lets every promise continuation that is ready run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
