import type { AppSpec, GitSourceSpec } from '../../stacks/gitops.ts';
import type { StackSpec } from '../../stacks/load.ts';
import type { AppStatus, KubeObject } from '../types.ts';
import { InfraError } from '../../stacks/errors.ts';
import { DEFAULT_BACKOFF, type Backoff } from '../backoff.ts';
import type { BuiltinApp } from '../builtin-apps.ts';
import { GitSource } from '../source/git-source.ts';
import { appNamesOf, commitAvailable, drainingBackoff, outcomeOf, runReconcile, runRemovals, type JobContext, type RoundObserver } from './app-job.ts';
import type { PlacementView } from '../failover/targets.ts';
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
  /** Set when another replica took the push and shared it: not shared again. */
  readonly relayed?: boolean;
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
  /** Replicas: shares a push this process received (webhook, hook) with the others (reconciler/leases/trigger-board.ts). */
  readonly relay?: (t: Trigger) => void;
  /** The dashboard (reconciler/dashboard/): told when rounds start and end. */
  readonly observer?: RoundObserver;
  /** Apps suspended from the dashboard: not reconciled until resumed. */
  readonly suspended?: (app: string) => boolean;
  /** Where apps with `placement` go now (reconciler/failover/). */
  readonly placement?: PlacementView & { rendered?(app: string, objects: readonly KubeObject[]): void };
  /** The stack's add-ons, reconciled as apps infra owns before the stack's apps; absent: their records are left alone. */
  readonly addons?: ServeAddons;
}

/**
 * The stack's add-ons (cluster add-ons as apps infra owns), rendered by the caller: reconciler/
 * cannot import modules/ (docs/ARCHITECTURE.md). Each is an app of the queue like the stack's
 * (its own jobs, status, metrics, shard), and the stack's apps depend on it.
 */
export interface ServeAddons {
  /** Those of the stack serve starts with (checked by the caller before anything listens); with `stackFrom`, none until the stack in Git is loaded. */
  readonly initial: readonly BuiltinApp[];
  /** Those of a stack reloaded from Git (`text` is its file, for the path and line of a problem); an InfraError keeps the old stack. */
  of(stack: StackSpec, text: string): Promise<readonly BuiltinApp[]>;
  /** After a round that reconciled some of them (`whole`: every app of the stack, removals included). */
  applied?(stack: StackSpec, statuses: readonly AppStatus[], whole: boolean): Promise<void>;
}

/** The queue key of the whole-stack job (a stack reload, the first round); app names cannot contain spaces. */
const STACK_KEY = ' stack';
/** The queue key of the removal of departed apps of the shards this replica holds (sharded replicas only). */
const REMOVALS_KEY = ' removals';
/** The batch of the add-on apps (they have no source): the jobs queued together run in one round. */
const ADDONS_BATCH = ' add-ons';

export class ServeLoop {
  private readonly opts: ServeLoopOptions;
  private readonly ownership: Ownership;
  private readonly clock: Backoff;
  private readonly queue: WorkQueue;
  private readonly lastApplied = new Map<string, string>();
  /** Newest commit seen per source URL+ref (polls trigger only on a change). */
  private readonly seen = new Map<string, string>();
  private current: StackSpec;
  /** The add-ons of `current` (undefined: not rendered by the caller). */
  private builtins: readonly BuiltinApp[] | undefined;
  private stackText: string | undefined;
  private timers: SourceTimers | undefined;
  /** Set when start() queues the first round: work asked for before then is that round's. */
  private started = false;
  /** What was asked before start() (pushes, the dashboard's sync now and resume), queued after the first round. */
  private readonly early: (() => void)[] = [];
  private firstRoundDone = false;
  private readonly unfetched = new Set<string>();
  private stopping = false;
  private stopped: Promise<void> | undefined;
  /** Aborted on stop: a reconcile waiting to retry an unreachable cluster gives up instead of holding the shutdown. */
  private readonly drain = new AbortController();

  constructor(opts: ServeLoopOptions) {
    this.opts = opts;
    this.current = opts.stack;
    // A stack from Git: none until it is loaded (the bootstrap stack's are not the real ones).
    this.builtins = opts.stackFrom ? undefined : opts.addons?.initial;
    this.ownership = opts.ownership ?? OWNS_EVERYTHING;
    this.clock = opts.clock ?? { ...DEFAULT_BACKOFF, maxMs: 60_000 };
    this.queue = new WorkQueue({
      run: (job) => this.run(job),
      backoff: this.clock,
      concurrency: opts.concurrency ?? 4,
      // The apps of one source start together: one fetch and one round for a push, however many apps.
      batchOf: (key) => (key === STACK_KEY ? undefined : this.isBuiltin(key) ? ADDONS_BATCH : this.current.gitops.apps.find((a) => a.name === key)?.source),
      onStart: (job, waitMs) => opts.metrics.queueWait.observe(waitMs / 1000),
      onDepth: (n) => opts.metrics.queueDepth.set(n),
      onRetry: (job, delayMs, why) => {
        opts.metrics.queueRetries.inc({ app: this.label(job.key) });
        opts.log.warn(`retrying in ${(delayMs / 1000).toFixed(1)}s: ${why}`, { app: this.label(job.key), ...(job.revision ? { revision: job.revision } : {}) });
      },
      onError: (job, err) => opts.log.error(`reconcile failed: ${err instanceof InfraError ? err.oneLine() : err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { app: this.label(job.key) }),
    });
    // Shards taken before start() (a replica takes its share first) are covered by the first round,
    // which runs after the sources are fetched and the stored placements loaded: nothing runs before it.
    this.ownership.onGained?.((app) => {
      if (this.started && !this.stopping) this.queue.add(app, { reason: 'ownership' });
    });
    // A shard taken over may hold apps that left the stack meanwhile: the new holder prunes them.
    this.ownership.onShardsGained?.(() => {
      if (this.firstRoundDone && !this.stopping) this.queue.add(REMOVALS_KEY, { reason: 'ownership' }, { exclusive: true });
    });
  }

  /** The stack being served (the newest valid one). */
  get stack(): StackSpec {
    return this.current;
  }

  /** Every app served, each a key of the queue and hashed to a shard: the add-ons, then the stack's apps. */
  appNames(): string[] {
    return this.served().map((a) => a.name);
  }

  private served(): AppSpec[] {
    return [...(this.builtins ?? []).map((b) => b.spec), ...this.current.gitops.apps];
  }

  private appSpec(name: string): AppSpec | undefined {
    return this.served().find((a) => a.name === name);
  }

  private isBuiltin(name: string): boolean {
    return this.builtins?.some((b) => b.spec.name === name) ?? false;
  }

  readiness(): Readiness {
    if (this.stopping) return { ready: false, why: 'stopping' };
    if (!this.firstRoundDone) return { ready: false, why: 'the first round is not done' };
    if (this.unfetched.size > 0) return { ready: false, why: `not fetched yet: ${[...this.unfetched].sort().join(', ')}` };
    return { ready: true, why: '' };
  }

  /** Fetches every source once, queues the first round (every app, removals included) and starts the timers. */
  async start(): Promise<void> {
    const sources = this.sources();
    for (const s of sources) this.unfetched.add(s.name);
    await Promise.all(sources.map((s) => this.poll(s, undefined, true)));
    if (this.stopping) return; // stopped while fetching: no first round, no timers
    this.started = true;
    this.queue.add(STACK_KEY, { reason: 'start' }, { exclusive: true });
    // Asked for meanwhile (a push may have landed after the fetch above): after the first round.
    for (const queue of this.early.splice(0)) queue();
    this.restartTimers();
  }

  /** Whether a push to `source` means anything here (an app uses it, or the stack lives there); else a webhook is "ignored". */
  watches(source: string): boolean {
    return this.opts.stackFrom?.at.source === source || this.current.gitops.apps.some((a) => a.source === source);
  }

  /** A push to `source`: its apps (and the stack, if it lives there) are reconciled. Returns the apps queued. */
  trigger(t: Trigger): string[] {
    if (this.stopping) return [];
    const apps = this.current.gitops.apps.filter((a) => a.source === t.source).map((a) => a.name);
    const spec = this.sources().find((s) => s.name === t.source);
    // The poll that will see this commit has nothing left to trigger.
    if (spec && t.revision) this.seen.set(sourceKey(spec), t.revision);
    // Before start(): queued after the first round (the sources are not fetched, the placements not loaded yet).
    if (this.started) this.queueTrigger(t, apps);
    else this.early.push(() => this.queueTrigger(t, this.current.gitops.apps.filter((a) => a.source === t.source).map((a) => a.name)));
    // A push from outside (not a poll, not one shared by another replica) is shared with the replicas.
    if (!t.relayed && t.reason !== 'poll' && (apps.length > 0 || this.opts.stackFrom?.at.source === t.source)) this.opts.relay?.(t);
    return apps;
  }

  private queueTrigger(t: Trigger, apps: readonly string[]): void {
    if (this.opts.stackFrom?.at.source === t.source) this.queue.add(STACK_KEY, { reason: t.reason, ...(t.revision ? { revision: t.revision } : {}) }, { exclusive: true });
    for (const app of apps) if (this.ownership.owns(app)) this.queue.add(app, { reason: t.reason, ...(t.revision ? { revision: t.revision } : {}) });
  }

  /** Queues one app (the dashboard's sync now); false when it is not in the stack, not owned here, or serve stops. */
  queueApp(app: string, reason: string): boolean {
    if (this.stopping || !this.appSpec(app)) return false;
    // Before start() (the dashboard listens first): queued after the first round, if owned then.
    if (!this.started) {
      this.early.push(() => {
        if (this.ownership.owns(app)) this.queue.add(app, { reason });
      });
      return true;
    }
    if (!this.ownership.owns(app)) return false;
    this.queue.add(app, { reason });
    return true;
  }

  /** Queues a reconcile of one owned app (the failover controller moved it). */
  enqueue(app: string, reason: string): void {
    if (this.started && !this.stopping && this.ownership.owns(app)) this.queue.add(app, { reason });
  }

  /** Stops taking work, lets running reconciles finish, then releases the leases. */
  stop(): Promise<void> {
    this.stopped ??= this.stopNow();
    return this.stopped;
  }

  private async stopNow(): Promise<void> {
    this.stopping = true;
    this.drain.abort();
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
    return key === STACK_KEY ? '(stack)' : key === REMOVALS_KEY ? '(removals)' : key;
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
      // The add-ons have no source: their own drift clock.
      ...(this.builtins && this.builtins.length > 0
        ? {
            builtinDrift: () => {
              for (const b of this.builtins ?? []) if (this.ownership.owns(b.spec.name)) this.queue.add(b.spec.name, { reason: 'drift' });
            },
          }
        : {}),
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
      clusterBackoff: drainingBackoff({ ...DEFAULT_BACKOFF, now: this.clock.now, random: this.clock.random, sleep: this.clock.sleep }, this.drain.signal),
      lastApplied: this.lastApplied,
      ...(this.opts.observer ? { observer: this.opts.observer } : {}),
      ...(this.opts.placement ? { placement: this.opts.placement } : {}),
      ...(this.builtins ? { builtins: this.builtins } : {}),
    };
  }

  /** A whole-stack job alone, or a batch of apps of one source (one fetch, one round per ownership signal). */
  private async run(jobs: readonly Job[]): Promise<ReadonlyMap<string, JobOutcome>> {
    const first = jobs[0];
    if (first?.key === STACK_KEY) return new Map([[STACK_KEY, await this.runStack(first)]]);
    if (first?.key === REMOVALS_KEY) return new Map([[REMOVALS_KEY, await this.runRemovals()]]);
    const ctx = this.jobContext();
    // Apps whose lease ends together go together: losing one shard must not abort another's apps.
    const bySignal = new Map<AbortSignal | undefined, { job: Job; app: AppSpec }[]>();
    for (const job of jobs) {
      const app = this.appSpec(job.key);
      // Not ours, or left the stack meanwhile (the stack job prunes it).
      if (!app || !this.ownership.owns(app.name) || this.opts.suspended?.(app.name)) continue;
      const signal = this.ownership.signal(app.name);
      bySignal.set(signal, [...(bySignal.get(signal) ?? []), { job, app }]);
    }
    const outcomes = new Map<string, JobOutcome>();
    await Promise.all([...bySignal].map(async ([signal, group]) => {
      const names = new Map<string, Set<string>>();
      for (const { app } of group) {
        try {
          names.set(app.name, new Set(await appNamesOf(ctx, app, signal)));
        } catch (err) {
          // A broken app-of-apps folder (or its source down): reported; a push or the next poll brings it back.
          if (!(err instanceof InfraError)) throw err;
          this.opts.log.warn(`${err.reason}: ${err.oneLine()}`, { app: app.name });
          outcomes.set(app.name, err.reason === 'SourceFailed' ? { kind: 'retry', why: err.oneLine() } : { kind: 'done' });
        }
      }
      const all = [...names.values()].flatMap((n) => [...n]);
      if (all.length === 0) return;
      for (const { job } of group) if (names.has(job.key)) this.opts.log.info(`reconciling (${job.reasons.join(', ')})`, { app: job.key, ...(job.revision ? { revision: job.revision } : {}) });
      // A drift re-check alone is not news: its cells do not flash Progressing.
      this.opts.observer?.started(group.filter(({ job }) => names.has(job.key) && job.reasons.some((r) => r !== 'drift')).map(({ job }) => job.key));
      const statuses = await runReconcile(ctx, [...names.keys()], all, signal);
      await this.addonsApplied(ctx, statuses, false);
      for (const { job, app } of group) {
        const own = names.get(app.name);
        if (!own) continue;
        const reconciled = new Set(statuses.filter((s) => own.has(s.app)).map((s) => s.revision));
        const source = this.current.gitops.sources.find((s) => s.name === app.source);
        // The announced commit was not the one reconciled: the repository does not serve it yet (mirror
        // lag: come back), it arrived after the round fetched (once more), or the branch moved past it
        // (a second round that still does not see it: done). Asked only then, as it costs a fetch.
        const missed = job.revision && source && !reconciled.has(job.revision) ? job.revision : undefined;
        if (missed && source && !(await commitAvailable(source, missed, this.opts.cacheRoot, signal))) {
          outcomes.set(job.key, { kind: 'retry', why: `commit ${missed.slice(0, 12)} of ${source.name} is not fetchable yet` });
        } else if (missed && source && job.attempt === 0) {
          outcomes.set(job.key, { kind: 'retry', why: `commit ${missed.slice(0, 12)} of ${source.name} arrived after the round fetched` });
        } else {
          outcomes.set(job.key, outcomeOf(statuses, own));
        }
      }
    }));
    return outcomes;
  }

  /** Reloads the stack from Git (when it lives there), then reconciles every owned app. */
  private async runStack(job: Job): Promise<JobOutcome> {
    const from = this.opts.stackFrom;
    if (from) {
      try {
        const loaded = await loadStackFromGit(from.source, from.at, this.opts.cacheRoot);
        if (job.revision && loaded.commit !== job.revision && !(await commitAvailable(from.source, job.revision, this.opts.cacheRoot))) {
          return { kind: 'retry', why: `commit ${job.revision.slice(0, 12)} of ${from.source.name} is not fetchable yet` };
        }
        this.unfetched.delete(from.source.name);
        this.opts.metrics.stackLoads.inc({ result: 'loaded' });
        // A push that left the stack file alone: its apps' own jobs do the work.
        if (loaded.text === this.stackText && this.firstRoundDone) return { kind: 'done' };
        // Add-ons that cannot work (path and line) make the stack broken like a schema error.
        const builtins = this.opts.addons ? await this.opts.addons.of(loaded.stack, loaded.text) : undefined;
        this.opts.log.info(`stack ${from.at.path} loaded`, { source: from.source.name, revision: loaded.commit });
        this.stackText = loaded.text;
        this.current = loaded.stack;
        this.builtins = builtins;
        const added = this.sources().filter((s) => !this.seen.has(sourceKey(s)));
        for (const s of added) this.unfetched.add(s.name);
        await Promise.all(added.map((s) => this.poll(s, undefined, true)));
        this.restartTimers();
      } catch (err) {
        if (!(err instanceof InfraError)) throw err;
        this.opts.metrics.stackLoads.inc({ result: 'invalid' });
        this.opts.log.error(`stack ${from.at.path} is broken; ${this.stackText === undefined ? 'nothing is served until a push fixes it' : 'still serving the previous one'}: ${err.oneLine()}`, { source: from.source.name });
        // Never a round with the bootstrap stack: its app list is not the real one, and a round prunes what it lacks.
        if (this.stackText === undefined || err.reason === 'SourceFailed') return { kind: 'retry', why: err.oneLine() };
        return { kind: 'done' };
      }
    }
    return this.fullRound(job);
  }

  /**
   * Tells the caller what a round did to the add-ons (the record `infra preview` compares with);
   * a failure to keep that record is said, and changes nothing in the clusters.
   */
  private async addonsApplied(ctx: JobContext, statuses: readonly AppStatus[], whole: boolean): Promise<void> {
    const applied = this.opts.addons?.applied;
    // As the CLI: only a stack with add-ons keeps the record.
    if (!applied || !ctx.builtins || ctx.builtins.length === 0 || (!whole && !statuses.some((s) => this.isBuiltin(s.app)))) return;
    try {
      await applied(ctx.stack, statuses, whole);
    } catch (err) {
      this.opts.log.warn(`the record of the applied add-ons was not written (infra preview compares with the previous one): ${(err as Error).message}`);
    }
  }

  /** Prunes the apps that left the stack whose shard this replica holds, each fenced by its shard's signal (SIGTERM lets it finish, like an apply). */
  private async runRemovals(): Promise<JobOutcome> {
    return outcomeOf(await runRemovals(this.jobContext(), (app) => (this.ownership.owns(app) ? { signal: this.ownership.signal(app) } : undefined)));
  }

  private async fullRound(job: Job): Promise<JobOutcome> {
    const apps = this.served();
    const owned = apps.filter((a) => this.ownership.owns(a.name) && !this.opts.suspended?.(a.name));
    try {
      if (owned.length === apps.length && this.ownership.ownsRemovals()) {
        this.opts.observer?.started(undefined);
        this.opts.log.info(`reconciling every app (${job.reasons.join(', ')})`);
        // Fenced like the per-app jobs: stops when any app's shard is lost.
        const signals = [...new Set(apps.map((a) => this.ownership.signal(a.name)).filter((x): x is AbortSignal => x !== undefined))];
        const fence = signals.length > 0 ? AbortSignal.any(signals) : undefined;
        let statuses: AppStatus[] | undefined;
        const ctx = this.jobContext();
        try {
          statuses = await runReconcile(ctx, ['(stack)'], undefined, fence);
        } catch (err) {
          if (!fence?.aborted || this.stopping) throw err;
        }
        if (statuses) await this.addonsApplied(ctx, statuses, !fence?.aborted);
        if (statuses && !fence?.aborted) return outcomeOf(statuses);
        if (this.stopping) return { kind: 'done' };
        // A shard was handed over mid-round (a replica joined): the apps still ours go on one by one,
        // with the departed apps of our shards. A retry of this job would find the stack unchanged and stop.
        this.opts.log.info('whole-stack round stopped by a shard hand-over: reconciling the apps still owned one by one', { app: '(stack)' });
        for (const a of apps) if (this.ownership.owns(a.name)) this.queue.add(a.name, { reason: job.reasons.join(', ') });
        this.queue.add(REMOVALS_KEY, { reason: job.reasons.join(', ') }, { exclusive: true });
        return { kind: 'done' };
      }
      // Sharded: each owned app on its own, and the departed apps of the shards held here.
      for (const a of owned) this.queue.add(a.name, { reason: job.reasons.join(', ') });
      this.queue.add(REMOVALS_KEY, { reason: job.reasons.join(', ') }, { exclusive: true });
      return { kind: 'done' };
    } finally {
      this.firstRoundDone = true;
    }
  }
}

function sourceKey(s: GitSourceSpec): string {
  return `${s.url}#${JSON.stringify(s.ref)}`;
}
