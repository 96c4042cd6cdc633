import { ServeProcess } from './serve-process.ts';

/**
 * `infra serve` replicas of the leases tests: real processes with --management-kubeconfig,
 * their JSON log read as events (shard acquired/lost, reconcile begin/end), their metrics, and
 * checks that no shard and no app was ever in two replicas' hands at once.
 */

export interface ReplicaEvent {
  readonly t: number;
  readonly event: 'acquired' | 'lost' | 'released' | 'begin' | 'end' | 'members';
  readonly shard?: number;
  readonly app?: string;
  readonly msg: string;
}

export interface ReplicaOptions {
  readonly identity: string;
  readonly stackFile: string;
  readonly managementKubeconfig: string;
  readonly namespace: string;
  readonly timing: { readonly leaseDuration: string; readonly renewDeadline: string; readonly retryPeriod: string };
  readonly cacheDir: string;
  /** Every app of the stack (a whole-stack round begins them all). */
  readonly apps: readonly string[];
  readonly extraArgs?: readonly string[];
}

export class Replica {
  readonly identity: string;
  readonly serve: ServeProcess;
  private readonly apps: readonly string[];
  killedAt: number | undefined;

  constructor(o: ReplicaOptions) {
    this.identity = o.identity;
    this.apps = o.apps;
    this.serve = ServeProcess.start(
      [
        '-f', o.stackFile,
        '--management-kubeconfig', o.managementKubeconfig,
        '--lease-namespace', o.namespace,
        '--identity', o.identity,
        '--lease-duration', o.timing.leaseDuration,
        '--renew-deadline', o.timing.renewDeadline,
        '--retry-period', o.timing.retryPeriod,
        ...(o.extraArgs ?? []),
      ],
      { ...process.env, INFRA_CACHE_DIR: o.cacheDir },
    );
  }

  /** The log as events, in order. */
  events(): ReplicaEvent[] {
    const out: ReplicaEvent[] = [];
    for (const l of this.serve.lines) {
      const msg = typeof l['msg'] === 'string' ? l['msg'] : '';
      const t = Date.parse(String(l['time']));
      const app = typeof l['app'] === 'string' ? l['app'] : undefined;
      const shard = typeof l['shard'] === 'number' ? l['shard'] : undefined;
      if (shard !== undefined && /^shard \d+: acquired/.test(msg)) out.push({ t, event: 'acquired', shard, msg });
      else if (shard !== undefined && /^shard \d+: lost/.test(msg)) out.push({ t, event: 'lost', shard, msg });
      else if (shard !== undefined && /^shard \d+: released/.test(msg)) out.push({ t, event: 'released', shard, msg });
      else if (msg.startsWith('members: ')) out.push({ t, event: 'members', msg });
      else if (msg.startsWith('reconciling every app')) for (const a of this.apps) out.push({ t, event: 'begin', app: a, msg });
      else if (app && msg.startsWith('reconciling (')) out.push({ t, event: 'begin', app, msg });
      else if (app === '(stack)' && (msg.startsWith('reconcile failed') || msg.startsWith('retrying in') || msg.startsWith('whole-stack round stopped'))) for (const a of this.apps) out.push({ t, event: 'end', app: a, msg });
      else if (app && (typeof l['durationMs'] === 'number' || msg.startsWith('reconcile failed') || msg.startsWith('retrying in'))) out.push({ t, event: 'end', app, msg });
    }
    return out;
  }

  mine(event: ReplicaEvent['event']): ReplicaEvent[] {
    return this.events().filter((e) => e.event === event);
  }

  /** Shards held, by the replica's own acquired/lost log lines. */
  held(): Set<number> {
    const out = new Set<number>();
    for (const e of this.events()) {
      if (e.shard === undefined) continue;
      if (e.event === 'acquired') out.add(e.shard);
      if (e.event === 'lost') out.delete(e.shard);
    }
    return out;
  }

  /** infra_lease_owned from the replica's own /metrics, per shard. */
  async metrics(): Promise<Map<number, number>> {
    const text = await (await fetch(`${await this.serve.url()}/metrics`)).text();
    const out = new Map<number, number>();
    for (const m of text.matchAll(/^infra_lease_owned\{lease="infra-shard-(\d+)"\} (\d+)$/gm)) out.set(Number(m[1]), Number(m[2]));
    return out;
  }

  kill(): void {
    this.killedAt = Date.now();
    this.serve.child.kill('SIGKILL');
  }

  alive(): boolean {
    return this.serve.child.exitCode === null && this.serve.child.signalCode === null;
  }
}

type Span = { replica: string; from: number; to: number };

/** Per shard, [acquired, lost] (open spans end at the kill or `end`); spans of two replicas must not overlap. */
export function ownershipOverlaps(replicas: readonly Replica[], end: number): string[] {
  return overlaps(spansOf(replicas, end, (e) => (e.event === 'acquired' ? 'open' : e.event === 'lost' ? 'close' : undefined), (e) => e.shard), 'shard');
}

/** Per app, [begin, end] of each reconcile; two replicas must never reconcile one app at once. */
export function reconcileOverlaps(replicas: readonly Replica[], end: number): string[] {
  return overlaps(spansOf(replicas, end, (e) => (e.event === 'begin' ? 'open' : e.event === 'end' ? 'close' : undefined), (e) => e.app), 'app');
}

function spansOf<K>(replicas: readonly Replica[], end: number, kind: (e: ReplicaEvent) => 'open' | 'close' | undefined, key: (e: ReplicaEvent) => K | undefined): Map<K, Span[]> {
  const spans = new Map<K, Span[]>();
  const add = (k: K, s: Span) => spans.set(k, [...(spans.get(k) ?? []), s]);
  for (const r of replicas) {
    const open = new Map<K, number>();
    for (const e of r.events()) {
      const k = key(e);
      if (k === undefined) continue;
      const what = kind(e);
      if (what === 'open' && !open.has(k)) open.set(k, e.t);
      if (what === 'close' && open.has(k)) {
        add(k, { replica: r.identity, from: open.get(k) ?? 0, to: e.t });
        open.delete(k);
      }
    }
    for (const [k, from] of open) add(k, { replica: r.identity, from, to: r.killedAt ?? end });
  }
  return spans;
}

function overlaps<K>(spans: ReadonlyMap<K, readonly Span[]>, what: string): string[] {
  const out: string[] = [];
  for (const [key, list] of spans) {
    for (const a of list) for (const b of list) if (a.replica < b.replica && a.from < b.to && b.from < a.to) out.push(`${what} ${String(key)}: ${a.replica} [${a.from}, ${a.to}] and ${b.replica} [${b.from}, ${b.to}]`);
  }
  return out;
}
