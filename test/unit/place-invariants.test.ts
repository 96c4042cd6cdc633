import { describe, expect, it } from 'vitest';
import type { PurgeMode } from '../../stacks/gitops.ts';
import type { AppHealthState, ClusterHealth, MoveRecord, PlacementState } from '../../reconciler/place/types.ts';
import { app, cluster, FAILOVER, run, s } from './place-fixtures.ts';

/** A small deterministic PRNG (mulberry32) so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CLUSTERS = [cluster('a', { region: 'x' }), cluster('b', { region: 'y' }), cluster('c', { region: 'x' }), cluster('d', { region: 'z' })];

describe('decide invariants under random health (seeded)', () => {
  it.each([1, 2, 3, 4, 5, 6] as const)('seed %i: never zero clusters, never a purge of an unreachable or desired cluster, cap held', (seed) => {
    const rnd = prng(seed);
    const purgeMode: PurgeMode = (['Graciously', 'Immediately', 'Never'] as const)[seed % 3]!;
    const a = app({ maxClusters: 1 + (seed % 2), ...(seed % 2 ? { spreadBy: 'region' } : {}), preference: ['a', 'b', 'c', 'd'], failover: { ...FAILOVER, purgeMode, maxMovesPerHour: 3, failback: { enabled: true, stabilizationSeconds: 20 } } }, ['a', 'b', 'c', 'd']);
    const health = new Map<string, ClusterHealth>(CLUSTERS.map((c) => [c.name, { cluster: c.name, state: 'Ready', since: s(-1000), readySince: s(-1000), reachable: true }]));
    let state: PlacementState | undefined;
    const all: MoveRecord[] = [];
    for (let t = 0; t < 3 * 3600; t += 7) {
      for (const c of CLUSTERS) {
        if (rnd() > 0.03) continue;
        const prev = health.get(c.name)!;
        const next = (['Ready', 'NotReady', 'Unknown'] as const)[Math.floor(rnd() * 3)]!;
        if (next === prev.state) continue;
        const unhealthySince = next === 'Ready' ? undefined : prev.state === 'Ready' ? s(t) : prev.unhealthySince;
        health.set(c.name, { cluster: c.name, state: next, since: s(t), reachable: next !== 'Unknown', ...(next === 'Ready' ? { readySince: s(t) } : {}), ...(unhealthySince !== undefined ? { unhealthySince } : {}) });
      }
      const appHealth: Record<string, AppHealthState> = {};
      for (const c of CLUSTERS) appHealth[c.name] = health.get(c.name)!.state === 'Ready' && rnd() > 0.2 ? 'Healthy' : 'Progressing';
      const d = run({ app: a, clusters: CLUSTERS, health: [...health.values()], appHealth, ...(state ? { state } : {}), now: s(t) });
      expect(d.desired.length).toBeGreaterThan(0);
      for (const p of d.purge) {
        expect(health.get(p)!.reachable).toBe(true);
        expect(d.desired.map((x) => x.cluster)).not.toContain(p);
        expect(d.next.clusters).not.toContain(p);
      }
      if (purgeMode === 'Never') expect(d.purge).toEqual([]);
      if (purgeMode === 'Graciously' && d.purge.length > 0) for (const x of d.desired) expect(appHealth[x.cluster]).toBe('Healthy');
      // Nothing is forgotten: every cluster the app was on is still tracked unless this decision purges it.
      for (const c of state?.clusters ?? []) expect([...d.next.clusters, ...d.purge]).toContain(c);
      for (const x of d.desired) expect(d.next.clusters).toContain(x.cluster);
      all.push(...d.moves);
      state = d.next;
    }
    const counted = all.filter((m) => m.reason === 'failover' || m.reason === 'failback');
    for (const m of counted) expect(counted.filter((o) => o.at > m.at - 3_600_000 && o.at <= m.at).length).toBeLessThanOrEqual(3);
    expect(counted.length).toBeGreaterThan(0);
  });
});
