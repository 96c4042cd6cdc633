import { allShards, preference } from './shards.ts';

/**
 * The whole shard decision of one replica as a pure function: given the shard leases as this
 * replica last saw them and the live members, which shards it renews, takes and hands back.
 * Effects (Lease requests, timers, aborting signals) live in shard-ownership.ts.
 */

/** A shard Lease as observed: who holds it and whether that hold has expired by our clock. */
export interface ShardView {
  readonly shard: number;
  /** undefined: no Lease object yet, or its holder was cleared. */
  readonly holder: string | undefined;
  /** The holder has not renewed within the lease duration (as observed here). */
  readonly expired: boolean;
}

export interface AssignmentInput {
  readonly self: string;
  readonly shardCount: number;
  /** Identities of the live replicas (member Leases not expired); self is added if missing. */
  readonly members: readonly string[];
  readonly shards: readonly ShardView[];
}

export interface ShardPlan {
  /** Shards this replica holds and keeps: renew them. */
  readonly renew: readonly number[];
  /** Free or expired shards to take, up to the fair share. */
  readonly acquire: readonly number[];
  /** Shards held above the fair share: hand them back (abort, then clear the holder). */
  readonly release: readonly number[];
  /** ceil(shards / live members). */
  readonly fairShare: number;
}

export function fairShare(shardCount: number, memberCount: number): number {
  return Math.ceil(shardCount / Math.max(1, memberCount));
}

export function planShards(input: AssignmentInput): ShardPlan {
  const members = new Set(input.members);
  members.add(input.self);
  const share = fairShare(input.shardCount, members.size);
  const byShard = new Map(input.shards.map((s) => [s.shard, s] as const));
  const rank = (a: number, b: number) => preference(input.self, b) - preference(input.self, a) || a - b;

  const held = allShards(input.shardCount)
    .filter((s) => byShard.get(s)?.holder === input.self)
    .sort(rank);
  const keep = held.slice(0, share);
  const release = held.slice(share).sort((a, b) => a - b);
  const free = allShards(input.shardCount)
    .filter((s) => {
      const v = byShard.get(s);
      return !v || v.holder === undefined || (v.holder !== input.self && v.expired);
    })
    .sort(rank);
  const acquire = free.slice(0, Math.max(0, share - keep.length)).sort((a, b) => a - b);
  return { renew: [...keep].sort((a, b) => a - b), acquire, release, fairShare: share };
}
