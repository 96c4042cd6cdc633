import { createHash } from 'node:crypto';

/**
 * Apps are split into a fixed number of shards, one Lease each (docs/DECISIONS.md): a stable
 * hash of the app name picks the shard, so every replica, of any version, agrees on it.
 */

export const DEFAULT_SHARD_COUNT = 16;

/** The shard of an app: the first 4 bytes of SHA-256(name), modulo the shard count. */
export function shardOf(app: string, shardCount: number): number {
  return createHash('sha256').update(app).digest().readUInt32BE(0) % shardCount;
}

/** Every shard index, 0 … count − 1. */
export function allShards(shardCount: number): number[] {
  return Array.from({ length: shardCount }, (_, i) => i);
}

/**
 * How strongly a replica prefers a shard (rendezvous hashing): replicas try free shards in
 * different orders, so they rarely race for the same one, and a replica that comes back
 * prefers the shards it had.
 */
export function preference(identity: string, shard: number): number {
  return createHash('sha256').update(`${identity}\0${shard}`).digest().readUInt32BE(0);
}
