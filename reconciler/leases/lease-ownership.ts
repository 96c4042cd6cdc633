import type { Ownership } from '../serve/ownership.ts';
import type { ShardOwnership } from './shard-ownership.ts';

/**
 * The serve loop's Ownership backed by shard Leases: an app is this replica's while it can
 * prove it holds the app's shard; apps of a shard just taken are queued at once; each replica
 * prunes the departed apps of the shards it holds (fenced by that shard's signal); a replica
 * holding every shard runs whole-stack rounds instead.
 */
export class LeaseOwnership implements Ownership {
  private readonly shards: ShardOwnership;
  private readonly apps: () => readonly string[];

  /** `apps`: the stack-level app names being served now (the stack may reload). */
  constructor(shards: ShardOwnership, apps: () => readonly string[]) {
    this.shards = shards;
    this.apps = apps;
  }

  owns(app: string): boolean {
    return this.shards.owns(app);
  }

  signal(app: string): AbortSignal {
    return this.shards.signal(app);
  }

  ownsRemovals(): boolean {
    return this.shards.held().length === this.shards.shardCount;
  }

  onGained(listener: (app: string) => void): void {
    this.shards.onChange(({ gained }) => {
      if (gained.length === 0) return;
      const taken = new Set(gained);
      for (const app of this.apps()) if (taken.has(this.shards.shardOf(app))) listener(app);
    });
  }

  onShardsGained(listener: () => void): void {
    this.shards.onChange(({ gained }) => {
      if (gained.length > 0) listener();
    });
  }

  release(): Promise<void> {
    return this.shards.release();
  }
}
