import type { GitSourceSpec } from '../../stacks/gitops.ts';
import type { StackSpec } from '../../stacks/load.ts';
import { InfraError } from '../../stacks/errors.ts';
import { DEFAULT_BACKOFF, type Backoff } from '../backoff.ts';
import { GitSource } from '../source/git-source.ts';
import { appNamesOf, commitAvailable, runReconcile, type JobContext } from './app-job.ts';
import type { Readiness } from './http-server.ts';
import type { ServeLog } from './log.ts';
import type { ServeMetrics } from './metrics.ts';
import { OWNS_EVERYTHING, type Ownership } from './ownership.ts';
import { loadStackFromGit, type StackLocation } from './stack-from-git.ts';
import { SourceTimers } from './source-timers.ts';
import { WorkQueue, type Job, type JobOutcome } from './work-queue.ts';

/**
 * `infra serve`'s loop: the same pipeline as `infra reconcile`, driven by triggers (webhooks,
 * hooks), per-source polls and drift re-checks, through a work queue keyed by app. The stack
 * may itself come from Git: a push that changes it reloads it (a broken one keeps the old).
 */

/** What a webhook or hook announces: a push to `source`, maybe naming the commit. */
export interface Trigger {
  readonly source: string;
  readonly revision?: string;
  readonly reason: string;
}

export interface ServeLoopOptions {
  readonly stack: StackSpec;
  /** Where the stack lives in Git, and the spec of that source (from the bootstrap stack). */
  readonly stackFrom?: { readonly at: StackLocation; readonly source: GitSourceSpec };
  readonly cacheRoot: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly metrics: ServeMetrics;
  readonly log: ServeLog;
  readonly ownership?: Ownership;
  /** Backoff, sleeps and the clock (injectable for tests). */
  readonly clock?: Backoff;
  /** Apps reconciled at once. */
  readonly concurrency?: number;
  readonly retryForMs?: number;
}

/** The queue key of the whole-stack job (a stack reload, the first round); app names cannot contain spaces. */
const STACK_KEY = ' stack';

export class ServeLoop {
  private readonly opts: ServeLoopOptions;
  private readonly ownership: Ownership;
  private readonly clock: Backoff;
  private readonly queue: WorkQueue;
  private readonly lastApplied = new Map<string, string>();
  /** Newest commit seen per source URL+ref (polls trigger only on a change). */
  private readonly seen = new Map<string, string>();
  private current: StackSpec;
  private stackCommit: string | undefined;
  private timers: SourceTimers | undefined;
  private firstRoundDone = false;
  private readonly unfetched = new Set<string>();
  private stopping = false;

  constructor(opts: ServeLoopOptions) {
    this.opts = opts;
    this.current = opts.stack;
    this.ownership = opts.ownership ?? OWNS_EVERYTHING;
    this.clock = opts.clock ?? { ...DEFAULT_BACKOFF, maxMs: 60_000 };
    this.queue = new WorkQueue({
      run: (job) => this.run(job),
      backoff: this.clock,
      concurrency: opts.concurrency ?? 4,
      onStart: (job, waitMs) => opts.metrics.queueWait.observe(waitMs / 1000),
      onDepth: (n) => opts.metrics.queueDepth.set(n),
      onRetry: (job, delayMs, why) => {
        opts.metrics.queueRetries.inc({ app: this.label(job.key) });
        opts.log.warn(`retrying in ${(delayMs / 1000).toFixed(1)}s: ${why}`, { app: this.label(job.key), ...(job.revision ? { revision: job.revision } : {}) });
      },
      onError: (job, err) => opts.log.error(`reconcile failed: ${err instanceof InfraError ? err.oneLine() : err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { app: this.label(job.key) }),
    });
    this.ownership.onGained?.((app) => this.queue.add(app, { reason: 'ownership' }));
  }

  /** The stack being served (the newest valid one). */
  get stack(): StackSpec {
    return this.current;
  }

  readiness(): Readiness {
    if (!this.firstRoundDone) return { ready: false, why: 'the first round is not done' };
    if (this.unfetched.size > 0) return { ready: false, why: `not fetched yet: ${[...this.unfetched].sort().join(', ')}` };
    return { ready: true, why: '' };
  }

  /** Fetches every source once, queues the first round (every app, removals included) and starts the timers. */
  async start(): Promise<void> {
    const sources = this.sources();
    for (const s of sources) this.unfetched.add(s.name);
    await Promise.all(sources.map((s) => this.poll(s, undefined, true)));
    this.queue.add(STACK_KEY, { reason: 'start' }, { exclusive: true });
    this.restartTimers();
  }

  /** A push to `source`: its apps (and the stack, if it lives there) are reconciled. Returns the apps queued. */
  trigger(t: Trigger): string[] {
    if (this.stopping) return [];
    const apps = this.current.gitops.apps.filter((a) => a.source === t.source).map((a) => a.name);
    const spec = this.sources().find((s) => s.name === t.source);
    // The poll that will see this commit has nothing left to trigger.
    if (spec && t.revision) this.seen.set(sourceKey(spec), t.revision);
    if (this.opts.stackFrom?.at.source === t.source) this.queue.add(STACK_KEY, { reason: t.reason, ...(t.revision ? { revision: t.revision } : {}) }, { exclusive: true });
    for (const app of apps) if (this.ownership.owns(app)) this.queue.add(app, { reason: t.reason, ...(t.revision ? { revision: t.revision } : {}) });
    return apps;
  }

  /** Stops taking work, lets running reconciles finish, then releases the leases. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.timers?.stop();
    await this.queue.stop();
    await this.ownership.release();
  }

  /** Resolves when the queue is empty and nothing runs (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  get running(): number {
    return this.queue.running;
  }

  private label(key: string): string {
    return key === STACK_KEY ? '(stack)' : key;
  }

  private sources(): GitSourceSpec[] {
    const list = [...this.current.gitops.sources];
    const s = this.opts.stackFrom?.source;
    if (s && !list.some((x) => x.name === s.name)) list.push(s);
    return list;
  }

  private restartTimers(): void {
    const old = this.timers;
    void old?.stop();
    this.timers = new SourceTimers(this.sources(), this.clock, {
      poll: (s, signal) => this.poll(s, signal),
      drift: (s) => {
        for (const a of this.current.gitops.apps) if (a.source === s.name && this.ownership.owns(a.name)) this.queue.add(a.name, { reason: 'drift' });
      },
    });
  }

  /** Fetches a source; a new commit triggers its apps (unless `learnOnly`: a round that covers them is queued anyway). */
  private async poll(s: GitSourceSpec, signal?: AbortSignal, learnOnly = false): Promise<void> {
    const key = sourceKey(s);
    try {
      const { commit } = await new GitSource(s, this.opts.cacheRoot).fetch(signal);
      this.unfetched.delete(s.name);
      if (this.seen.get(key) === commit) {
        this.opts.metrics.sourcePolls.inc({ source: s.name, result: 'unchanged' });
        return;
      }
      this.seen.set(key, commit);
      this.opts.metrics.sourcePolls.inc({ source: s.name, result: 'changed' });
      if (!learnOnly) {
        this.opts.log.info('new commit', { source: s.name, revision: commit });
        this.trigger({ source: s.name, reason: 'poll' });
      }
    } catch (err) {
      if (!(err instanceof InfraError)) throw err;
      this.opts.metrics.sourcePolls.inc({ source: s.name, result: 'failed' });
      if (!signal?.aborted) this.opts.log.warn(`poll failed: ${err.oneLine()}`, { source: s.name });
    }
  }

  private jobContext(): JobContext {
    return {
      stack: this.current,
      cacheRoot: this.opts.cacheRoot,
      ...(this.opts.env ? { env: this.opts.env } : {}),
      metrics: this.opts.metrics,
      log: this.opts.log,
      clock: this.clock,
      retryForMs: this.opts.retryForMs ?? 30_000,
      lastApplied: this.lastApplied,
    };
  }

  private async run(job: Job): Promise<JobOutcome> {
    if (job.key === STACK_KEY) return this.runStack(job);
    if (!this.ownership.owns(job.key)) return { kind: 'done' };
    const app = this.current.gitops.apps.find((a) => a.name === job.key);
    if (!app) return { kind: 'done' }; // left the stack meanwhile: the stack job prunes it
    const source = this.current.gitops.sources.find((s) => s.name === app.source);
    const signal = this.ownership.signal(app.name);
    if (job.revision && source && !(await commitAvailable(source, job.revision, this.opts.cacheRoot, signal))) {
      return { kind: 'retry', why: `commit ${job.revision.slice(0, 12)} of ${source.name} is not fetchable yet` };
    }
    const ctx = this.jobContext();
    const names = await appNamesOf(ctx, app, signal);
    if (names.length === 0) return { kind: 'done' };
    this.opts.log.info(`reconciling (${job.reasons.join(', ')})`, { app: app.name, ...(job.revision ? { revision: job.revision } : {}) });
    return runReconcile(ctx, app.name, names, signal);
  }

  /** Reloads the stack from Git (when it lives there), then reconciles every owned app. */
  private async runStack(job: Job): Promise<JobOutcome> {
    const from = this.opts.stackFrom;
    if (from) {
      if (job.revision && !(await commitAvailable(from.source, job.revision, this.opts.cacheRoot))) {
        return { kind: 'retry', why: `commit ${job.revision.slice(0, 12)} of ${from.source.name} is not fetchable yet` };
      }
      try {
        const loaded = await loadStackFromGit(from.source, from.at, this.opts.cacheRoot);
        this.unfetched.delete(from.source.name);
        this.opts.metrics.stackLoads.inc({ result: 'loaded' });
        if (loaded.commit !== this.stackCommit) {
          this.opts.log.info(`stack ${from.at.path} loaded`, { source: from.source.name, revision: loaded.commit });
          this.stackCommit = loaded.commit;
          this.current = loaded.stack;
          const added = this.sources().filter((s) => !this.seen.has(sourceKey(s)));
          for (const s of added) this.unfetched.add(s.name);
          await Promise.all(added.map((s) => this.poll(s, undefined, true)));
          this.restartTimers();
        }
      } catch (err) {
        if (!(err instanceof InfraError)) throw err;
        this.opts.metrics.stackLoads.inc({ result: 'invalid' });
        this.opts.log.error(`stack ${from.at.path} is broken; still serving the previous one: ${err.oneLine()}`, { source: from.source.name });
        if (err.reason === 'SourceFailed') return { kind: 'retry', why: err.oneLine() };
        if (this.firstRoundDone) return { kind: 'done' };
      }
    }
    return this.fullRound(job);
  }

  private async fullRound(job: Job): Promise<JobOutcome> {
    const apps = this.current.gitops.apps;
    const owned = apps.filter((a) => this.ownership.owns(a.name));
    try {
      if (owned.length === apps.length && this.ownership.ownsRemovals()) {
        this.opts.log.info(`reconciling every app (${job.reasons.join(', ')})`);
        return await runReconcile(this.jobContext(), '(stack)', undefined);
      }
      // Sharded: each owned app on its own (the replica holding the removals lease prunes departed apps).
      for (const a of owned) this.queue.add(a.name, { reason: job.reasons.join(', ') });
      return { kind: 'done' };
    } finally {
      this.firstRoundDone = true;
    }
  }
}

function sourceKey(s: GitSourceSpec): string {
  return `${s.url}#${JSON.stringify(s.ref)}`;
}
