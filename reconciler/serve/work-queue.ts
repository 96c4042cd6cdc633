import { backoffDelay, type Backoff } from '../backoff.ts';

/**
 * The work queue of `infra serve`, keyed by app (like a controller's rate-limited queue): one
 * job per key at a time; requests that arrive while a key waits or runs coalesce into ONE
 * pending job carrying the newest revision; a job that asks to be retried comes back after an
 * exponential backoff unless newer work for its key arrived meanwhile. An exclusive job (a full
 * round after the stack changed) waits for every running job and holds the others back.
 * Ready jobs of one batch group (the apps of one source) start together as one run, so a push
 * to a repository of many apps is one fetch and one round, not one per app.
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
  /** Runs a batch (one job, or the ready jobs of one group); an outcome per key, a missing one counts as done. */
  readonly run: (jobs: readonly Job[]) => Promise<ReadonlyMap<string, JobOutcome>>;
  readonly backoff: Backoff;
  /** Runs at once (each one job or one batch). */
  readonly concurrency: number;
  /** The group a key's jobs batch with (undefined: alone). */
  readonly batchOf?: (key: string) => string | undefined;
  readonly maxBatch?: number;
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
  private dispatchScheduled = false;

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
    this.scheduleDispatch();
  }

  /** Dispatches once the caller's synchronous burst is queued: a trigger of many apps batches them. */
  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
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

  /** Resolves when nothing runs or waits to start (a retry sleeping its backoff is not waited for). */
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
      const job = this.stateOf(key).pending;
      if (!job) {
        this.ready.shift();
        continue;
      }
      // An exclusive job starts alone: it waits for the running ones (and holds back those behind it).
      if (job.exclusive && this.inFlight.size > 0) break;
      const batch = job.exclusive ? [key] : this.batchFrom(key);
      for (const k of batch) this.ready.splice(this.ready.indexOf(k), 1);
      const jobs = batch.map((k) => {
        const state = this.stateOf(k);
        const j = state.pending as Job;
        state.pending = undefined;
        state.running = true;
        this.opts.onStart?.(j, Math.max(0, this.opts.backoff.now() - j.enqueuedAt));
        return j;
      });
      if (job.exclusive) this.exclusiveRunning = true;
      const p = this.execute(jobs).finally(() => {
        this.inFlight.delete(p);
        this.dispatch();
      });
      this.inFlight.add(p);
    }
    this.opts.onDepth?.(this.ready.length);
  }

  /** `first` and the ready, non-exclusive keys of its group, in arrival order. */
  private batchFrom(first: string): string[] {
    const group = this.opts.batchOf?.(first);
    if (group === undefined) return [first];
    const max = this.opts.maxBatch ?? 256;
    const batch = [first];
    for (const k of this.ready) {
      if (batch.length >= max) break;
      if (k === first || this.opts.batchOf?.(k) !== group) continue;
      const j = this.stateOf(k).pending;
      if (j && !j.exclusive) batch.push(k);
    }
    return batch;
  }

  private async execute(jobs: readonly Job[]): Promise<void> {
    let outcomes: ReadonlyMap<string, JobOutcome>;
    try {
      outcomes = await this.opts.run(jobs);
    } catch (err) {
      for (const job of jobs) this.opts.onError?.(job, err);
      const why = err instanceof Error ? err.message : String(err);
      outcomes = new Map(jobs.map((j) => [j.key, { kind: 'retry', why }] as const));
    }
    for (const job of jobs) {
      const state = this.stateOf(job.key);
      state.running = false;
      if (job.exclusive) this.exclusiveRunning = false;
      if (this.stopped) continue;
      if (state.pending) {
        // Newer work arrived while this ran: it supersedes any retry of this job.
        if (!this.ready.includes(job.key)) this.ready.push(job.key);
        continue;
      }
      const outcome = outcomes.get(job.key) ?? { kind: 'done' };
      if (outcome.kind === 'retry') this.scheduleRetry(state, job, outcome.why);
    }
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
