import { backoffDelay, type Backoff } from '../backoff.ts';

/**
 * The work queue of `infra serve`, keyed by app (like a controller's rate-limited queue): one
 * job per key at a time; requests that arrive while a key waits or runs coalesce into ONE
 * pending job carrying the newest revision; a job that asks to be retried comes back after an
 * exponential backoff unless newer work for its key arrived meanwhile. An exclusive job (a full
 * round after the stack changed) waits for every running job and holds the others back.
 */

export interface WorkRequest {
  /** A commit a trigger announced (a webhook's `after`); the newest one wins. */
  readonly revision?: string;
  readonly reason: string;
}

export interface Job {
  readonly key: string;
  readonly revision?: string;
  /** Every reason coalesced into this job, oldest first, without repeats. */
  readonly reasons: readonly string[];
  /** When the first request of this job arrived (queue wait is measured from here). */
  readonly enqueuedAt: number;
  /** 0 for a fresh job; n for its n-th retry. */
  readonly attempt: number;
  readonly exclusive: boolean;
}

/** What a job asks of the queue when it ends: done, or come back later (a transient failure, a commit not fetchable yet). */
export type JobOutcome = { readonly kind: 'done' } | { readonly kind: 'retry'; readonly why: string };

export interface WorkQueueOptions {
  readonly run: (job: Job) => Promise<JobOutcome>;
  readonly backoff: Backoff;
  /** Jobs running at once (different keys). */
  readonly concurrency: number;
  /** Observers, for metrics and logs. */
  readonly onStart?: (job: Job, waitMs: number) => void;
  readonly onRetry?: (job: Job, delayMs: number, why: string) => void;
  readonly onDepth?: (depth: number) => void;
  /** A job that threw: a bug, reported, then retried like a failure. */
  readonly onError?: (job: Job, err: unknown) => void;
}

interface KeyState {
  running: boolean;
  pending?: Job;
  /** A retry is sleeping for this key: the job, and how to wake it early. */
  waiting?: AbortController;
  retrying?: Job;
}

export class WorkQueue {
  private readonly opts: WorkQueueOptions;
  private readonly keys = new Map<string, KeyState>();
  /** Keys whose pending job may start, in arrival order. */
  private readonly ready: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private exclusiveRunning = false;
  private stopped = false;

  constructor(opts: WorkQueueOptions) {
    this.opts = opts;
  }

  /** Asks for a job on `key`. Ignored once the queue is stopping. */
  add(key: string, req: WorkRequest, options: { exclusive?: boolean } = {}): void {
    if (this.stopped) return;
    const state = this.stateOf(key);
    // A job sleeping before its retry is merged too: its revision (a commit not fetchable yet) is not dropped.
    const prev = state.pending ?? state.retrying;
    state.pending = {
      key,
      ...(req.revision ?? prev?.revision ? { revision: req.revision ?? prev?.revision } : {}),
      reasons: prev ? (prev.reasons.includes(req.reason) ? prev.reasons : [...prev.reasons, req.reason]) : [req.reason],
      enqueuedAt: prev?.enqueuedAt ?? this.opts.backoff.now(),
      // New work for a key that was backing off starts over: it may well succeed now.
      attempt: 0,
      exclusive: (options.exclusive ?? false) || (prev?.exclusive ?? false),
    };
    if (state.waiting) {
      state.waiting.abort();
      state.waiting = undefined;
      state.retrying = undefined;
    }
    if (!state.running && !this.ready.includes(key)) this.ready.push(key);
    this.dispatch();
  }

  /** Jobs waiting to start (not running, not sleeping before a retry). */
  get depth(): number {
    return this.ready.length;
  }

  get running(): number {
    return this.inFlight.size;
  }

  /** Takes no more work, drops what waits, cancels retries, and resolves when the running jobs have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.ready.length = 0;
    for (const s of this.keys.values()) {
      s.pending = undefined;
      s.waiting?.abort();
      s.waiting = undefined;
      s.retrying = undefined;
    }
    this.opts.onDepth?.(0);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when nothing runs, waits or sleeps (for tests and the first round). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.ready.length > 0) await Promise.allSettled([...this.inFlight]);
  }

  private stateOf(key: string): KeyState {
    let s = this.keys.get(key);
    if (!s) {
      s = { running: false };
      this.keys.set(key, s);
    }
    return s;
  }

  private dispatch(): void {
    while (!this.stopped && !this.exclusiveRunning && this.ready.length > 0 && this.inFlight.size < this.opts.concurrency) {
      const key = this.ready[0] as string;
      const state = this.stateOf(key);
      const job = state.pending;
      if (!job) {
        this.ready.shift();
        continue;
      }
      // An exclusive job starts alone: it waits for the running ones (and holds back those behind it).
      if (job.exclusive && this.inFlight.size > 0) break;
      this.ready.shift();
      state.pending = undefined;
      state.running = true;
      if (job.exclusive) this.exclusiveRunning = true;
      this.opts.onStart?.(job, Math.max(0, this.opts.backoff.now() - job.enqueuedAt));
      const p = this.execute(state, job).finally(() => {
        this.inFlight.delete(p);
        this.dispatch();
      });
      this.inFlight.add(p);
    }
    this.opts.onDepth?.(this.ready.length);
  }

  private async execute(state: KeyState, job: Job): Promise<void> {
    let outcome: JobOutcome;
    try {
      outcome = await this.opts.run(job);
    } catch (err) {
      this.opts.onError?.(job, err);
      outcome = { kind: 'retry', why: err instanceof Error ? err.message : String(err) };
    }
    state.running = false;
    if (job.exclusive) this.exclusiveRunning = false;
    if (this.stopped) return;
    if (state.pending) {
      // Newer work arrived while this ran: it supersedes any retry of this job.
      if (!this.ready.includes(job.key)) this.ready.push(job.key);
      return;
    }
    if (outcome.kind === 'retry') this.scheduleRetry(state, job, outcome.why);
  }

  private scheduleRetry(state: KeyState, job: Job, why: string): void {
    const delayMs = backoffDelay(this.opts.backoff, job.attempt);
    this.opts.onRetry?.(job, delayMs, why);
    const waiting = new AbortController();
    state.waiting = waiting;
    state.retrying = job;
    this.opts.backoff.sleep(delayMs, waiting.signal).then(
      () => {
        if (state.waiting !== waiting || this.stopped) return;
        state.waiting = undefined;
        state.retrying = undefined;
        state.pending = { ...job, attempt: job.attempt + 1, enqueuedAt: this.opts.backoff.now() };
        if (!state.running && !this.ready.includes(job.key)) this.ready.push(job.key);
        this.dispatch();
      },
      () => undefined, // superseded by newer work, or the queue stopped
    );
  }
}
