import { describe, expect, it } from 'vitest';
import { app, capacity, chosen, cluster, down, FAILOVER, ready, ruleOf, run, s } from './place-fixtures.ts';

const EDGE = cluster('edge-1', { region: 'eu', 'infra.dev/site-kind': 'edge' });
const CORE = cluster('core-1', { region: 'eu', 'infra.dev/site-kind': 'cloud' });
const CORE2 = cluster('core-2', { region: 'us', 'infra.dev/site-kind': 'cloud' });
const ALL = [EDGE, CORE, CORE2];

describe('decide: placement without failover', () => {
  it('no placement block: every candidate, as placeApp did', () => {
    const d = run({ app: app(undefined), clusters: ALL, now: s(0) });
    expect(chosen(d)).toEqual(['edge-1', 'core-1']);
    expect(ruleOf(d, 'core-2')).toBe('targets: not named and the selector does not match');
    expect(d.moves).toEqual([]);
  });

  it('preference order and maxClusters; the rest explained by the rule that left them out', () => {
    const d = run({ app: app({ maxClusters: 1, preference: ['core-1', 'edge-1'] }, ['edge-1', 'core-1', 'core-2']), clusters: ALL, now: s(0) });
    expect(chosen(d)).toEqual(['core-1']);
    expect(ruleOf(d, 'core-1')).toBe('preference #1');
    expect(ruleOf(d, 'edge-1')).toBe('maxClusters 1: reached by higher-ranked clusters');
  });

  it('weights: heaviest first, ties by name', () => {
    const d = run({ app: app({ maxClusters: 2, weights: { 'core-2': 5, 'edge-1': 1, 'core-1': 1 } }, ['edge-1', 'core-1', 'core-2']), clusters: ALL, now: s(0) });
    expect(chosen(d)).toEqual(['core-2', 'core-1']);
    expect(ruleOf(d, 'core-2')).toBe('weight 5');
  });

  it('spreadBy: at most one cluster per label value', () => {
    const d = run({ app: app({ spreadBy: 'region', preference: ['edge-1', 'core-1', 'core-2'] }, ['edge-1', 'core-1', 'core-2']), clusters: ALL, now: s(0) });
    expect(chosen(d)).toEqual(['edge-1', 'core-2']);
    expect(ruleOf(d, 'core-1')).toBe('spreadBy region: region=eu already has edge-1');
  });

  it('capacity filter: a cluster without room for the whole app (Duplicated) is passed over and says why', () => {
    const d = run({
      app: app({ maxClusters: 1, preference: ['edge-1', 'core-1'] }),
      clusters: ALL,
      capacity: [capacity('edge-1', 150), capacity('core-1', 4000)],
      demand: { perReplica: { cpuMilli: 100, memoryBytes: 0, pods: 1 }, replicas: 2, ownsPvc: false },
      now: s(0),
    });
    expect(chosen(d)).toEqual(['core-1']);
    expect(ruleOf(d, 'edge-1')).toBe('capacity: needs 200m cpu for 2 replica(s), 150m cpu free');
  });

  it('explanations are deterministic: sorted by cluster, same input → same output', () => {
    const input = { app: app({ maxClusters: 1, preference: ['edge-1', 'core-1'], failover: FAILOVER }), clusters: [CORE2, CORE, EDGE], health: [down('edge-1', s(0))], now: s(5) };
    const a = run(input);
    expect(a.explain.map((e) => e.cluster)).toEqual(['core-1', 'core-2', 'edge-1']);
    expect(run(input)).toEqual(a);
    expect(run({ ...input, clusters: [EDGE, CORE, CORE2] })).toEqual(a);
  });
});

describe('decide: initial placement with failover', () => {
  it('places on the preferred Ready cluster and records a placement move', () => {
    const d = run({ app: app({ maxClusters: 1, preference: ['edge-1', 'core-1'], failover: FAILOVER }), clusters: ALL, health: [ready('edge-1'), ready('core-1')], now: s(0) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.moves).toEqual([{ to: 'edge-1', reason: 'placement', at: s(0), detail: 'placed on edge-1 by policy' }]);
    expect(d.next).toMatchObject({ clusters: ['edge-1'], home: ['edge-1'], active: ['edge-1'] });
  });

  it('skips an unhealthy preferred cluster at first placement (health filter), explaining it', () => {
    const d = run({ app: app({ maxClusters: 1, preference: ['edge-1', 'core-1'], failover: FAILOVER }), clusters: ALL, health: [down('edge-1', s(-5), 'NotReady')], now: s(0) });
    expect(chosen(d)).toEqual(['core-1']);
    expect(d.next.home).toEqual(['edge-1']);
    expect(ruleOf(d, 'edge-1')).toBe('health: NotReady since 2026-01-01T11:59:55.000Z (unhealthy since 2026-01-01T11:59:55.000Z)');
  });

  it('never zero clusters: nothing Ready → placed on home anyway, blocked says why', () => {
    const d = run({ app: app({ maxClusters: 1, preference: ['edge-1', 'core-1'], failover: FAILOVER }), clusters: ALL, health: [down('edge-1', s(-5)), down('core-1', s(-5))], now: s(0) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.blocked).toBe('no Ready candidate with room: placed on edge-1 anyway');
  });
});

describe('decide: health only matters with a failover policy', () => {
  it('placement without failover ignores health (no moves ever), and explains by the placement rules', () => {
    const d = run({ app: app({ maxClusters: 1, preference: ['edge-1', 'core-1'] }), clusters: ALL, health: [down('edge-1', s(-600)), down('core-1', s(-600))], now: s(0) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(ruleOf(d, 'core-1')).toBe('maxClusters 1: reached by higher-ranked clusters');
  });
  it('a cluster of the stack whose state names a cluster that no longer exists does not break the explanation', () => {
    const d = run({ app: app({ maxClusters: 1, preference: ['edge-1', 'core-1'], failover: FAILOVER }), clusters: ALL, state: { app: 'web', clusters: ['gone'], home: ['gone'], active: ['gone'], moves: [], pending: [] }, now: s(0) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.explain.map((e) => e.cluster)).toEqual(['core-1', 'core-2', 'edge-1']);
  });
});
