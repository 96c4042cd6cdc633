import { AbortError } from '../../stacks/errors.ts';

/** How many hosts are worked on at once unless the caller says otherwise. */
export const DEFAULT_HOST_PARALLELISM = 10;

/** A limit on concurrent work across hosts; share one instance for a whole run. */
export class HostParallelism {
  readonly limit: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(limit = DEFAULT_HOST_PARALLELISM) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`parallelism must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  /** Runs `work` once a slot is free; the slot is freed however `work` ends. */
  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortError('interrupted'));
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new AbortError('interrupted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

export type HostOutcome<H, T> = { readonly host: H; readonly ok: true; readonly value: T } | { readonly host: H; readonly ok: false; readonly error: unknown };

/**
 * Runs `work` for every host, at most `limit` at a time, and waits for all: one host failing
 * (unreachable, a command that failed) never stops the others. Outcomes keep the input order.
 */
export function forEachHost<H, T>(
  hosts: readonly H[],
  work: (host: H) => Promise<T>,
  options: { parallelism?: HostParallelism; signal?: AbortSignal } = {},
): Promise<HostOutcome<H, T>[]> {
  const limit = options.parallelism ?? new HostParallelism();
  return Promise.all(
    hosts.map((host) =>
      limit.run(() => work(host), options.signal).then(
        (value): HostOutcome<H, T> => ({ host, ok: true, value }),
        (error: unknown): HostOutcome<H, T> => ({ host, ok: false, error }),
      ),
    ),
  );
}
