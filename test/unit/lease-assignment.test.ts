import { describe, expect, it } from 'vitest';
import { fairShare, planShards, type ShardView } from '../../reconciler/leases/assignment.ts';
import { shardOf } from '../../reconciler/leases/shards.ts';
import { leaseTiming } from '../../reconciler/leases/timing.ts';

const N = 16;
const views = (holders: Record<number, string | undefined>, expired: readonly number[] = []): ShardView[] =>
  Array.from({ length: N }, (_, s) => ({ shard: s, holder: holders[s], expired: expired.includes(s) }));

/** Runs the plans of all replicas in turn (each sees what the previous ones took) until nothing changes. */
function settle(members: string[], start: Record<number, string | undefined> = {}): Record<number, string | undefined> {
  const holders = { ...start };
  for (let round = 0; round < 10; round++) {
    let changed = false;
    for (const self of members) {
      const plan = planShards({ self, shardCount: N, members, shards: views(holders) });
      for (const s of plan.release) (holders[s] = undefined), (changed = true);
      for (const s of plan.acquire) (holders[s] = self), (changed = true);
    }
    if (!changed) return holders;
  }
  throw new Error('did not settle');
}

const counts = (holders: Record<number, string | undefined>) => {
  const out: Record<string, number> = {};
  for (const h of Object.values(holders)) if (h) out[h] = (out[h] ?? 0) + 1;
  return out;
};

describe('shard assignment', () => {
  it('a single replica (no sharding) takes every shard', () => {
    const plan = planShards({ self: 'a', shardCount: N, members: [], shards: views({}) });
    expect(plan.acquire).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(plan.fairShare).toBe(N);
  });

  it('three replicas split 16 shards into at most ceil(16/3) = 6 each, all held', () => {
    const holders = settle(['a', 'b', 'c']);
    const c = counts(holders);
    expect(Object.values(c).reduce((x, y) => x + y, 0)).toBe(N);
    for (const n of Object.values(c)) expect(n).toBeLessThanOrEqual(fairShare(N, 3));
  });

  it('a replica above its fair share hands back the extras when one joins', () => {
    const two = settle(['a', 'b']);
    expect(counts(two)).toEqual({ a: 8, b: 8 });
    const plan = planShards({ self: 'a', shardCount: N, members: ['a', 'b', 'c'], shards: views(two) });
    expect(plan.release).toHaveLength(2);
    expect(plan.renew).toHaveLength(6);
    expect(plan.acquire).toEqual([]);
    const three = settle(['a', 'b', 'c'], two);
    expect(counts(three)).toEqual({ a: 6, b: 6, c: 4 });
  });

  it('shards of a dead replica are taken only once they expired, never while its hold is live', () => {
    const held = settle(['a', 'b', 'c']);
    const ofC = Object.entries(held).filter(([, h]) => h === 'c').map(([s]) => Number(s));
    const live = planShards({ self: 'a', shardCount: N, members: ['a', 'b'], shards: views(held) });
    expect(live.acquire.filter((s) => ofC.includes(s))).toEqual([]);
    const expired = planShards({ self: 'a', shardCount: N, members: ['a', 'b'], shards: views(held, ofC) });
    expect(expired.acquire.length).toBeGreaterThan(0);
    expect(expired.acquire.every((s) => ofC.includes(s))).toBe(true);
    const after = settle(['a', 'b'], Object.fromEntries(Object.entries(held).map(([s, h]) => [s, h === 'c' ? undefined : h])));
    expect(counts(after)).toEqual({ a: 8, b: 8 });
  });

  it('never plans to take a shard another live replica holds', () => {
    const plan = planShards({ self: 'a', shardCount: N, members: ['a'], shards: views({ 3: 'b', 7: 'b' }) });
    expect(plan.acquire).not.toContain(3);
    expect(plan.acquire).not.toContain(7);
    expect(plan.acquire).toHaveLength(14);
  });

  it('is deterministic and the app → shard hash is stable', () => {
    const input = { self: 'replica-x', shardCount: N, members: ['replica-x', 'replica-y'], shards: views({}) };
    expect(planShards(input)).toEqual(planShards(input));
    expect(shardOf('hello', 16)).toBe(shardOf('hello', 16));
    // Pinned: changing the hash would move every app to another shard on upgrade.
    expect([shardOf('hello', 16), shardOf('edge-agent', 16), shardOf('web', 16)]).toMatchInlineSnapshot(`
      [
        10,
        8,
        6,
      ]
    `);
  });

  it('rejects lease timings that cannot fence', () => {
    expect(() => leaseTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/shorter than the lease duration/);
    expect(() => leaseTiming({ retryPeriodMs: 6_000 })).toThrow(/at most half/);
    expect(() => leaseTiming({ leaseDurationMs: 1_500 })).toThrow(/whole seconds/);
    expect(leaseTiming()).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  });
});

describe('lease names', () => {
  it('a member Lease name is valid for any identity (hostname case, underscores)', async () => {
    const { memberName } = await import('../../reconciler/leases/names.ts');
    expect(memberName('Build_Host.local-1a2b3c')).toBe('infra-member-build-host.local-1a2b3c');
    expect(memberName('replica-a')).toBe('infra-member-replica-a');
  });
});
