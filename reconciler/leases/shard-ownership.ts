import { setTimeout as delay } from 'node:timers/promises';
import { isTransient } from '../../clusters/kube-client.ts';
import { InfraError } from '../../stacks/errors.ts';
import { planShards, type ShardView } from './assignment.ts';
import { isConflict, LEASE_KIND_LABEL, microTime, type Lease, type LeaseStore } from './lease-store.ts';
import { DEFAULT_SHARD_COUNT, shardOf } from './shards.ts';
import { leaseTiming, type LeaseTiming } from './timing.ts';
import type { ShardGauge } from './metrics.ts';
import { ShardCountMismatchError } from './lease-errors.ts';
import { MEMBER_LEASE_PREFIX, memberName, SHARDS_ANNOTATION, shardName } from './names.ts';

/**
 * This replica's share of the apps, held with one Lease per shard in the management cluster
 * (plus one member Lease per replica so each can compute its fair share). Every shard has an
 * AbortSignal that fires the moment this replica can no longer prove it holds the shard:
 * when (start of its last successful renew) + renewDeadline passes, when another replica is
 * seen holding it, or when it is handed back. The reconciler passes that signal to every
 * request, and a request is never issued on an aborted signal (clusters/kube-client.ts).
 */

export interface ShardOwnershipOptions {
  readonly store: LeaseStore;
  /** Unique per process (pod name + random suffix). */
  readonly identity: string;
  readonly shardCount?: number;
  readonly timing?: Partial<LeaseTiming>;
  readonly now?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: LeaseLogFields) => void;
  readonly gauge?: ShardGauge;
  /**
   * Resolves when no work of the shard is in flight (its signal has fired); called before a
   * shard is handed back to rebalance. Without it, the holder is cleared only after a grace of
   * leaseDuration − renewDeadline, the margin a lapsed hold relies on too.
   */
  readonly drain?: (shard: number) => Promise<void>;
}

interface Hold {
  readonly controller: AbortController;
  validUntil: number;
  resourceVersion: string;
  timer: NodeJS.Timeout | undefined;
}

interface Observed {
  readonly resourceVersion: string;
  readonly holder: string | undefined;
  readonly durationMs: number;
  readonly since: number;
}

export type LeaseLogFields = Readonly<Record<string, string | number | boolean>>;

export type OwnershipListener = (change: { readonly gained: readonly number[]; readonly lost: readonly number[] }) => void;

export class ShardOwnership {
  readonly identity: string;
  readonly shardCount: number;
  readonly timing: LeaseTiming;
  private readonly store: LeaseStore;
  private readonly now: () => number;
  private readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: LeaseLogFields) => void;
  private readonly gauge: ShardGauge | undefined;
  private readonly drain: (shard: number) => Promise<void>;
  private readonly holds = new Map<number, Hold>();
  private readonly observed = new Map<string, Observed>();
  private readonly listeners: OwnershipListener[] = [];
  private readonly stopping = new AbortController();
  private memberVersion: string | undefined;
  private team = '';
  private loop: Promise<void> | undefined;
  private readonly lostSignal: AbortSignal;
  /** Shards being handed back: aborted, waiting for their work to end before the holder is cleared. */
  private readonly releasing = new Map<number, Promise<void>>();

  constructor(options: ShardOwnershipOptions) {
    this.store = options.store;
    this.identity = options.identity;
    this.shardCount = options.shardCount ?? DEFAULT_SHARD_COUNT;
    this.timing = leaseTiming(options.timing);
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.gauge = options.gauge;
    const grace = this.timing.leaseDurationMs - this.timing.renewDeadlineMs;
    this.drain = options.drain ?? (() => delay(grace));
    const lost = new AbortController();
    lost.abort(abortReason('not held by this replica'));
    this.lostSignal = lost.signal;
    for (let s = 0; s < this.shardCount; s++) this.gauge?.set(s, false);
  }

  shardOf(app: string): number {
    return shardOf(app, this.shardCount);
  }

  /** True while this replica can prove it holds the app's shard. */
  owns(app: string): boolean {
    const h = this.holds.get(this.shardOf(app));
    return !!h && !h.controller.signal.aborted && this.now() < h.validUntil;
  }

  /** The app's shard signal: aborted once this replica cannot prove it holds the shard (already aborted if it does not). */
  signal(app: string): AbortSignal {
    const h = this.holds.get(this.shardOf(app));
    return h && this.now() < h.validUntil ? h.controller.signal : this.lostSignal;
  }

  /** Shards held now, ascending. */
  held(): number[] {
    return [...this.holds.keys()].filter((s) => this.now() < (this.holds.get(s)?.validUntil ?? 0)).sort((a, b) => a - b);
  }

  onChange(listener: OwnershipListener): void {
    this.listeners.push(listener);
  }

  /** Runs the first round (so the replica starts with its share), then renews every retry period. */
  async start(): Promise<void> {
    await this.round().catch((err: unknown) => this.log(err instanceof ShardCountMismatchError ? 'error' : 'warn', `lease round failed: ${err instanceof InfraError ? err.oneLine() : (err as Error).message}`));
    this.loop = this.run();
  }

  /** Stops renewing, aborts every shard, waits for their work, then clears the holder of each Lease so the next replica takes over at once. */
  async release(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    const shards = [...this.holds.keys()].filter((s) => !this.releasing.has(s));
    // Called once the caller's work has ended (serve: after the queue drained), so no drain wait.
    await Promise.all([...shards.map((s) => this.handBack(s, 'released on shutdown', false)), ...this.releasing.values()]);
    if (this.memberVersion) {
      await this.store.delete(memberName(this.identity), this.memberVersion).catch(() => undefined);
      this.memberVersion = undefined;
    }
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const jitter = this.timing.retryPeriodMs * 0.1 * Math.random();
      // Wake early when another replica's Lease is due to expire, so its shards move within the lease duration.
      const wait = Math.max(0, Math.min(this.timing.retryPeriodMs - jitter, this.nextExpiry() - this.now() + 5));
      await delay(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      const raced = await this.round().catch((err: unknown) => void this.log(err instanceof ShardCountMismatchError ? 'error' : 'warn', `lease round failed: ${err instanceof InfraError ? err.oneLine() : (err as Error).message}`));
      // Lost a race for a free shard: read again at once rather than one retry period later.
      if (raced && !signal.aborted) await this.round().catch((err: unknown) => this.log(err instanceof ShardCountMismatchError ? 'error' : 'warn', `lease round failed: ${err instanceof InfraError ? err.oneLine() : (err as Error).message}`));
    }
  }

  /** One round: read every Lease, plan, then renew, take and hand back in parallel. True when a take lost a race. */
  async round(): Promise<boolean> {
    const leases = await this.store.list(undefined, this.requestTimeoutMs());
    const now = this.now();
    const byName = new Map(leases.map((l) => [l.metadata.name, l] as const));
    for (const l of leases) this.observe(l, now);
    for (const name of [...this.observed.keys()]) if (!byName.has(name)) this.observed.delete(name);
    const live = leases.filter((l) => l.metadata.name.startsWith(MEMBER_LEASE_PREFIX) && l.spec.holderIdentity && !this.expired(l, now));
    // Before anything is written (our member Lease included): a replica that disagrees stays out.
    const other = live.find((l) => l.spec.holderIdentity !== this.identity && (l.metadata.annotations?.[SHARDS_ANNOTATION] ?? String(this.shardCount)) !== String(this.shardCount));
    if (other) {
      for (const s of [...this.holds.keys()]) this.lose(s, 'shard count mismatch');
      throw new ShardCountMismatchError(`replica ${other.spec.holderIdentity ?? '?'} uses ${other.metadata.annotations?.[SHARDS_ANNOTATION]} shards, this one ${this.shardCount}`, {
        where: `lease ${this.store.namespace}/${other.metadata.name}`,
        hint: 'give every replica the same --shards; to change it, stop all replicas first. This replica takes no shard meanwhile',
      });
    }
    const members = live.map((l) => l.spec.holderIdentity as string);
    const views: ShardView[] = [];
    for (let s = 0; s < this.shardCount; s++) {
      const l = byName.get(shardName(s));
      const holder = l?.spec.holderIdentity ?? undefined;
      // A shard being handed back is nobody's to take or renew until its holder is cleared.
      if (this.releasing.has(s)) views.push({ shard: s, holder: '(handing back)', expired: false });
      else views.push({ shard: s, holder: holder || undefined, expired: l ? this.expired(l, now) : true });
      // Seen held by another replica (it took over after our hold lapsed): stop at once.
      if (this.holds.has(s) && !this.releasing.has(s) && holder !== this.identity) this.lose(s, `now held by ${holder ?? 'nobody'}`);
    }
    const plan = planShards({ self: this.identity, shardCount: this.shardCount, members, shards: views });
    const team = [...new Set([...members, this.identity])].sort().join(',');
    if (team !== this.team) {
      this.team = team;
      this.log('info', `members: ${team}; fair share ${plan.fairShare} shard(s)`, { members: team, fairShare: plan.fairShare });
    }
    const gained: number[] = [];
    let raced = false;
    await Promise.all([
      this.renewMember(byName.get(memberName(this.identity))),
      ...plan.renew.map((s) => {
        const had = this.holds.has(s);
        return this.hold(s, byName.get(shardName(s)), false).then((ok) => void (ok && !had ? gained.push(s) : undefined));
      }),
      ...plan.acquire.map((s) => this.hold(s, byName.get(shardName(s)), true).then((ok) => void (ok ? gained.push(s) : (raced = true)))),
    ]);
    // Hand-backs wait for the shard's work to end: they run beside the next rounds, never blocking renewals.
    for (const s of plan.release) {
      const done = this.handBack(s, `above the fair share of ${plan.fairShare}`).finally(() => this.releasing.delete(s));
      this.releasing.set(s, done);
    }
    if (gained.length > 0) this.emit({ gained: gained.sort((a, b) => a - b), lost: [] });
    return raced;
  }

  /** Renews or takes a shard Lease with the resourceVersion just read. True when this replica holds it now. */
  private async hold(shard: number, lease: Lease | undefined, take: boolean): Promise<boolean> {
    const started = this.now();
    const stamp = microTime(started);
    const spec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
      renewTime: stamp,
      acquireTime: take || !lease?.spec.acquireTime ? stamp : lease.spec.acquireTime,
      leaseTransitions: (lease?.spec.leaseTransitions ?? 0) + (take && lease?.spec.holderIdentity ? 1 : 0),
    };
    let written: Lease;
    try {
      written = lease
        ? await this.store.replace({ ...lease, spec }, undefined, this.requestTimeoutMs())
        : await this.store.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: shardName(shard), labels: { [LEASE_KIND_LABEL]: 'shard' } }, spec }, undefined, this.requestTimeoutMs());
    } catch (err) {
      if (isConflict(err)) {
        if (!take) this.lose(shard, 'renewal lost a write race (another replica changed the Lease)');
        return false;
      }
      if (!isTransient(err)) throw err;
      // The hold lapses on its own timer if no later renewal succeeds.
      this.log('warn', `shard ${shard}: ${take ? 'take' : 'renew'} failed: ${(err as Error).message}`, { shard });
      return false;
    }
    const validUntil = started + this.timing.renewDeadlineMs;
    const h = this.holds.get(shard);
    if (h && !h.controller.signal.aborted) {
      h.validUntil = validUntil;
      h.resourceVersion = written.metadata.resourceVersion ?? '';
      this.arm(shard, h);
      return true;
    }
    const fresh: Hold = { controller: new AbortController(), validUntil, resourceVersion: written.metadata.resourceVersion ?? '', timer: undefined };
    this.holds.set(shard, fresh);
    this.arm(shard, fresh);
    this.gauge?.set(shard, true);
    this.log('info', `shard ${shard}: acquired`, { shard });
    return true;
  }

  /** One slow request must not cost a hold that a retry could keep: at most half the renew deadline (or one retry period). */
  private requestTimeoutMs(): number {
    return Math.max(this.timing.retryPeriodMs, Math.floor(this.timing.renewDeadlineMs / 2));
  }

  /** The hold lapses at validUntil unless renewed before. */
  private arm(shard: number, h: Hold): void {
    if (h.timer) clearTimeout(h.timer);
    h.timer = setTimeout(() => this.lose(shard, `no successful renewal within the renew deadline (${this.timing.renewDeadlineMs} ms)`), Math.max(0, h.validUntil - this.now()));
    h.timer.unref();
  }

  /** Stop: abort the shard's work now; the Lease is left to expire (another replica may already hold it). */
  private lose(shard: number, why: string): void {
    const h = this.holds.get(shard);
    if (!h) return;
    if (h.timer) clearTimeout(h.timer);
    this.holds.delete(shard);
    h.controller.abort(abortReason(`shard ${shard} lease lost: ${why}`));
    this.gauge?.set(shard, false);
    this.log('warn', `shard ${shard}: lost (${why})`, { shard });
    this.emit({ gained: [], lost: [shard] });
  }

  /** Voluntary hand-back: abort, wait for the shard's work to end, then clear the holder (with the resourceVersion of our last write). */
  private async handBack(shard: number, why: string, waitForWork = true): Promise<void> {
    const h = this.holds.get(shard);
    if (!h) return;
    if (h.timer) clearTimeout(h.timer);
    h.controller.abort(abortReason(`shard ${shard} handed back: ${why}`));
    if (waitForWork) await this.drain(shard);
    this.holds.delete(shard);
    this.gauge?.set(shard, false);
    // Before the holder is cleared: nothing of the shard runs here any more.
    this.log('info', `shard ${shard}: lost (handed back: ${why})`, { shard });
    this.emit({ gained: [], lost: [shard] });
    const stillOurs = this.now() < h.validUntil;
    if (stillOurs) {
      const cleared: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: shardName(shard), resourceVersion: h.resourceVersion, labels: { [LEASE_KIND_LABEL]: 'shard' } },
        spec: { holderIdentity: null, leaseDurationSeconds: this.timing.leaseDurationMs / 1000, acquireTime: null, renewTime: null },
      };
      await this.store.replace(cleared, undefined, this.requestTimeoutMs()).catch((err: unknown) => this.log('warn', `shard ${shard}: could not clear the holder (${(err as Error).message}); it expires instead`, { shard }));
    }
    this.log('info', `shard ${shard}: released (${why})`, { shard });
  }

  private async renewMember(lease: Lease | undefined): Promise<void> {
    const spec = { holderIdentity: this.identity, leaseDurationSeconds: this.timing.leaseDurationMs / 1000, renewTime: microTime(this.now()) };
    const annotations = { [SHARDS_ANNOTATION]: String(this.shardCount) };
    try {
      const written = lease
        ? await this.store.replace({ ...lease, metadata: { ...lease.metadata, annotations: { ...lease.metadata.annotations, ...annotations } }, spec: { ...lease.spec, ...spec } }, undefined, this.requestTimeoutMs())
        : await this.store.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: memberName(this.identity), labels: { [LEASE_KIND_LABEL]: 'member' }, annotations }, spec: { ...spec, acquireTime: spec.renewTime } }, undefined, this.requestTimeoutMs());
      this.memberVersion = written.metadata.resourceVersion;
    } catch (err) {
      if (!isConflict(err) && !isTransient(err)) throw err;
      this.log('warn', `member lease: ${(err as Error).message}`);
    }
  }

  /**
   * A Lease expires leaseDuration after its last renewal, dated by the earlier of the holder's
   * renewTime and the moment we first saw that renewal. client-go uses only the latter (immune
   * to clock skew, but a dead holder's shards then wait up to one more retry period); the
   * earlier date moves them within the lease duration and stays safe while clocks differ by
   * less than leaseDuration − renewDeadline, because the holder stops at renew start + renewDeadline.
   * A renewTime ahead of our clock is never trusted.
   */
  private observe(l: Lease, now: number): void {
    const rv = l.metadata.resourceVersion ?? '';
    const prev = this.observed.get(l.metadata.name);
    if (prev?.resourceVersion === rv) return;
    const stamped = l.spec.renewTime ? Date.parse(l.spec.renewTime) : Number.NaN;
    const since = Number.isFinite(stamped) ? Math.min(now, stamped) : now;
    this.observed.set(l.metadata.name, { resourceVersion: rv, holder: l.spec.holderIdentity ?? undefined, durationMs: (l.spec.leaseDurationSeconds ?? 0) * 1000, since });
  }

  /** When the next Lease held by another replica expires, if it is not renewed (Infinity: none). */
  private nextExpiry(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const o of this.observed.values()) {
      if (!o.holder || o.holder === this.identity) continue;
      const at = o.since + o.durationMs;
      if (at > this.now()) next = Math.min(next, at);
    }
    return next;
  }

  private expired(l: Lease, now: number): boolean {
    const o = this.observed.get(l.metadata.name);
    return !o || now >= o.since + o.durationMs;
  }

  private emit(change: { gained: readonly number[]; lost: readonly number[] }): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.log('error', `ownership listener failed: ${(err as Error).message}`);
      }
    }
  }
}

/** The reason a shard's signal carries: an AbortError, so every layer treats it as a cancellation. */
function abortReason(message: string): DOMException {
  return new DOMException(message, 'AbortError');
}
