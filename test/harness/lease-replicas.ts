import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../clusters/wait.ts';

/** Replica processes of the leases test: start, read their JSON-line events, kill or stop them. */

const REPLICA = fileURLToPath(new URL('./lease-replica.ts', import.meta.url));

export interface ReplicaEvent {
  readonly t: number;
  readonly replica: string;
  readonly event: string;
  readonly shard?: number;
  readonly app?: string;
  readonly port?: number;
  readonly [k: string]: unknown;
}

export interface ReplicaOptions {
  readonly identity: string;
  readonly managementKubeconfig: string;
  readonly namespace: string;
  readonly stackFile: string;
  readonly cacheRoot: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly pollMs: number;
}

export class Replica {
  readonly identity: string;
  readonly events: ReplicaEvent[];
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; t: number }>;
  killedAt: number | undefined;

  constructor(options: ReplicaOptions, events: ReplicaEvent[]) {
    this.identity = options.identity;
    this.events = events;
    this.child = spawn(process.execPath, [REPLICA, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('{')) events.push(JSON.parse(line) as ReplicaEvent);
      }
    });
    let stderr = '';
    this.child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal, t: Date.now() })));
    void this.exited.then(({ code }) => {
      if (code && code !== 0) process.stderr.write(`replica ${this.identity} exited ${code}: ${stderr}\n`);
    });
  }

  mine(event: string): ReplicaEvent[] {
    return this.events.filter((e) => e.replica === this.identity && e.event === event);
  }

  async ready(): Promise<void> {
    const ok = await waitFor(async () => (this.mine('ready').length > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 50 });
    if (!ok) throw new Error(`replica ${this.identity} never became ready`);
  }

  /** Shards this replica holds according to its own acquired/lost events. */
  held(): Set<number> {
    const out = new Set<number>();
    for (const e of this.events) {
      if (e.replica !== this.identity || e.shard === undefined) continue;
      if (e.event === 'acquired') out.add(e.shard);
      if (e.event === 'lost') out.delete(e.shard);
    }
    return out;
  }

  async metrics(): Promise<Map<number, number>> {
    const port = this.mine('ready')[0]?.port;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const out = new Map<number, number>();
    for (const m of text.matchAll(/^infra_lease_owned\{lease="infra-shard-(\d+)"\} (\d+)$/gm)) out.set(Number(m[1]), Number(m[2]));
    return out;
  }

  kill(): void {
    this.killedAt = Date.now();
    this.child.kill('SIGKILL');
  }
}

/**
 * Per shard, the time spans each replica held it ([acquired, lost], or until it was killed or
 * the test ended); two spans of different replicas on one shard must never overlap.
 */
export function ownershipOverlaps(replicas: readonly Replica[], events: readonly ReplicaEvent[], end: number): string[] {
  const spans = new Map<number, { replica: string; from: number; to: number }[]>();
  for (const r of replicas) {
    const open = new Map<number, number>();
    for (const e of events) {
      if (e.replica !== r.identity || e.shard === undefined) continue;
      if (e.event === 'acquired') open.set(e.shard, e.t);
      if (e.event === 'lost' && open.has(e.shard)) {
        spans.set(e.shard, [...(spans.get(e.shard) ?? []), { replica: r.identity, from: open.get(e.shard) ?? 0, to: e.t }]);
        open.delete(e.shard);
      }
    }
    for (const [shard, from] of open) spans.set(shard, [...(spans.get(shard) ?? []), { replica: r.identity, from, to: r.killedAt ?? end }]);
  }
  return overlaps(spans, 'shard');
}

/** Per app, the spans of its reconciles ([begin, end], or until the replica was killed); no two replicas at once. */
export function reconcileOverlaps(replicas: readonly Replica[], events: readonly ReplicaEvent[], end: number): string[] {
  const spans = new Map<string, { replica: string; from: number; to: number }[]>();
  for (const r of replicas) {
    const open = new Map<string, number>();
    for (const e of events) {
      if (e.replica !== r.identity || e.app === undefined) continue;
      if (e.event === 'begin') open.set(e.app, e.t);
      if (e.event === 'end' && open.has(e.app)) {
        spans.set(e.app, [...(spans.get(e.app) ?? []), { replica: r.identity, from: open.get(e.app) ?? 0, to: e.t }]);
        open.delete(e.app);
      }
    }
    for (const [app, from] of open) spans.set(app, [...(spans.get(app) ?? []), { replica: r.identity, from, to: r.killedAt ?? end }]);
  }
  return overlaps(spans, 'app');
}

function overlaps<K>(spans: ReadonlyMap<K, readonly { replica: string; from: number; to: number }[]>, what: string): string[] {
  const out: string[] = [];
  for (const [key, list] of spans) {
    for (const a of list) for (const b of list) if (a.replica < b.replica && a.from < b.to && b.from < a.to) out.push(`${what} ${String(key)}: ${a.replica} [${a.from}, ${a.to}] and ${b.replica} [${b.from}, ${b.to}]`);
  }
  return out;
}
