import { describe, expect, it } from 'vitest';
import { demandOf, parseCpu, parseQuantity } from '../../reconciler/place/demand.ts';
import { divideReplicas, largestRemainder } from '../../reconciler/place/divide.ts';
import { divideWorkloads } from '../../reconciler/place/divide-workloads.ts';
import type { KubeObject } from '../../reconciler/types.ts';
import type { PlacementState } from '../../reconciler/place/types.ts';
import { app, capacity, chosen, cluster, down, FAILOVER, run, s } from './place-fixtures.ts';

const per = { cpuMilli: 100, memoryBytes: 0, pods: 1 };
const free = (cpuMilli: number) => ({ cpuMilli, memoryBytes: 2 ** 40, pods: 1000 });
const asObj = (m: Map<string, number>) => Object.fromEntries(m);

describe('divideReplicas', () => {
  it('largest remainder by weight, ties by name', () => {
    expect(asObj(largestRemainder(10, [{ cluster: 'a', weight: 1 }, { cluster: 'b', weight: 1 }, { cluster: 'c', weight: 1 }]))).toEqual({ a: 4, b: 3, c: 3 });
    expect(asObj(divideReplicas(10, [{ cluster: 'c', weight: 1 }, { cluster: 'b', weight: 1 }, { cluster: 'a', weight: 1 }], per))).toEqual({ a: 4, b: 3, c: 3 });
    expect(asObj(divideReplicas(7, [{ cluster: 'a', weight: 3 }, { cluster: 'b', weight: 1 }], per))).toEqual({ a: 5, b: 2 });
  });
  it('capped by free capacity; what does not fit goes to clusters with room', () => {
    expect(asObj(divideReplicas(9, [{ cluster: 'a', weight: 1, free: free(150) }, { cluster: 'b', weight: 1 }, { cluster: 'c', weight: 1, free: free(10_000) }], per))).toEqual({ a: 1, b: 4, c: 4 });
  });
  it('nowhere with room: the rest is split by weight anyway (the total is never lost)', () => {
    expect(asObj(divideReplicas(4, [{ cluster: 'a', weight: 1, free: free(100) }, { cluster: 'b', weight: 1, free: free(0) }], per))).toEqual({ a: 3, b: 1 });
  });
  it('zero replicas and zero-request pods', () => {
    expect(asObj(divideReplicas(0, [{ cluster: 'a', weight: 1 }], per))).toEqual({ a: 0 });
    expect(asObj(divideReplicas(3, [{ cluster: 'a', weight: 1, free: free(0) }, { cluster: 'b', weight: 2, free: free(0) }], { cpuMilli: 0, memoryBytes: 0, pods: 0 }))).toEqual({ a: 1, b: 2 });
  });
});

const deployment = (name: string, replicas: number | undefined, cpu = '100m', memory = '64Mi'): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { ...(replicas !== undefined ? { replicas } : {}), template: { spec: { containers: [{ name: 'c', resources: { requests: { cpu, memory } } }, { name: 'side' }] } } },
});

describe('demandOf', () => {
  it('sums Deployment/StatefulSet requests × replicas (replicas default 1) and finds PVCs', () => {
    expect(demandOf([deployment('a', 3), { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }])).toEqual({ perReplica: { cpuMilli: 100, memoryBytes: 64 * 2 ** 20, pods: 1 }, replicas: 3, ownsPvc: false });
    expect(demandOf([deployment('a', undefined, '1', '1G'), deployment('b', 1, '500m', '0')])).toEqual({ perReplica: { cpuMilli: 750, memoryBytes: 500_000_000, pods: 1 }, replicas: 2, ownsPvc: false });
    expect(demandOf([{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' } }]).ownsPvc).toBe(true);
    expect(demandOf([{ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 1, volumeClaimTemplates: [{}] } }]).ownsPvc).toBe(true);
    expect(demandOf([])).toEqual({ perReplica: { cpuMilli: 0, memoryBytes: 0, pods: 1 }, replicas: 0, ownsPvc: false });
  });
  it('parses quantities', () => {
    expect([parseCpu('250m'), parseCpu('2'), parseCpu(0.5), parseCpu(undefined)]).toEqual([250, 2000, 500, 0]);
    expect([parseQuantity('1Ki'), parseQuantity('1k'), parseQuantity('1.5Gi'), parseQuantity('nonsense'), parseQuantity(12)]).toEqual([1024, 1000, 1.5 * 2 ** 30, 0, 12]);
  });
});

describe('divideWorkloads (render-side transform)', () => {
  const desired = [{ cluster: 'a', replicas: 4 }, { cluster: 'b', replicas: 2 }];
  it('sets each workload\'s replicas to this cluster\'s share without touching the input', () => {
    const objs = [deployment('web', 6), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } }];
    const a = divideWorkloads(objs, 'a', desired);
    expect((a[0]?.['spec'] as { replicas: number }).replicas).toBe(4);
    expect((divideWorkloads(objs, 'b', desired)[0]?.['spec'] as { replicas: number }).replicas).toBe(2);
    expect(a[1]).toBe(objs[1]);
    expect((objs[0]?.['spec'] as { replicas: number }).replicas).toBe(6);
  });
  it('a second workload keeps its own total, split in the same proportions', () => {
    const shares = ['a', 'b'].map((c) => (divideWorkloads([deployment('worker', 3)], c, desired)[0]?.['spec'] as { replicas: number }).replicas);
    expect(shares).toEqual([2, 1]);
  });
  it('a cluster without a share (Duplicated) gets the objects unchanged', () => {
    const objs = [deployment('web', 6)];
    expect(divideWorkloads(objs, 'a', [{ cluster: 'a' }])).toEqual(objs);
  });
});

describe('decide: Divided', () => {
  const fallbacks = [cluster('edge-1'), cluster('core-1'), cluster('core-2'), cluster('core-3')];
  const divided = app({ replicas: 'Divided', maxClusters: 3, preference: ['edge-1', 'core-1', 'core-2', 'core-3'], failover: FAILOVER }, ['edge-1', 'core-1', 'core-2', 'core-3']);
  const demand = { perReplica: { cpuMilli: 200, memoryBytes: 0, pods: 1 }, replicas: 9, ownsPvc: false };
  it('three fallbacks, one nearly full: replicas go where capacity exists', () => {
    const d = run({ app: divided, clusters: fallbacks, demand, health: [down('edge-1', s(-60))], capacity: [capacity('core-1', 4000), capacity('core-2', 250), capacity('core-3', 4000)], now: s(0) });
    expect(d.desired).toEqual([{ cluster: 'core-1', replicas: 4 }, { cluster: 'core-2', replicas: 1 }, { cluster: 'core-3', replicas: 4 }]);
    expect(d.next.replicas).toEqual({ 'core-1': 4, 'core-2': 1, 'core-3': 4 });
  });
  it('a cluster without room for even one replica is filtered, with the capacity rule', () => {
    const d = run({ app: divided, clusters: fallbacks, demand, health: [down('edge-1', s(-60))], capacity: [capacity('core-1', 4000), capacity('core-2', 100), capacity('core-3', 4000)], now: s(0) });
    expect(chosen(d)).toEqual(['core-1', 'core-3']);
    expect(d.explain.find((e) => e.cluster === 'core-2')?.rule).toBe('capacity: needs 200m cpu for 1 replica(s), 100m cpu free');
  });
  it('the app\'s own replicas on a cluster count as room when it is re-divided', () => {
    const state: PlacementState = { app: 'web', clusters: ['core-1', 'core-2', 'core-3'], home: ['edge-1', 'core-1', 'core-2'], active: ['core-1', 'core-2', 'core-3'], replicas: { 'core-1': 4, 'core-2': 1, 'core-3': 4 }, moves: [], pending: [] };
    const d = run({ app: divided, clusters: fallbacks, demand, state, health: [down('edge-1', s(-60))], capacity: [capacity('core-1', 3200), capacity('core-2', 50), capacity('core-3', 3200)], now: s(0) });
    expect(d.desired).toEqual([{ cluster: 'core-1', replicas: 4 }, { cluster: 'core-2', replicas: 1 }, { cluster: 'core-3', replicas: 4 }]);
  });
  it('after a failover the replicas are divided again over the clusters that remain, the nearly full one capped', () => {
    const state: PlacementState = { app: 'web', clusters: ['core-1', 'edge-1'], home: ['edge-1', 'core-1', 'core-2'], active: ['edge-1', 'core-1'], replicas: { 'edge-1': 5, 'core-1': 4 }, moves: [], pending: [] };
    const two = app({ replicas: 'Divided', maxClusters: 2, preference: ['edge-1', 'core-1', 'core-2', 'core-3'], failover: FAILOVER }, ['edge-1', 'core-1', 'core-2', 'core-3']);
    const d = run({ app: two, clusters: fallbacks, demand, state, health: [down('edge-1', s(-60))], capacity: [capacity('core-1', 100), capacity('core-2', 1000), capacity('core-3', 4000)], now: s(0) });
    // core-1: its own 4 replicas (800m) + 100m free → room for 4 (its even share would be 5); the 5th goes to core-2 (room 5).
    expect(d.moves.map((m) => `${m.from}→${m.to}`)).toEqual(['edge-1→core-2']);
    expect(d.desired).toEqual([{ cluster: 'core-1', replicas: 4 }, { cluster: 'core-2', replicas: 5 }]);
    expect(d.explain.find((e) => e.cluster === 'core-2')?.rule).toBe('failover: replaces edge-1');
  });
  it('Divided failover prefers a replacement with room for the failed cluster\'s whole share over a nearly full preferred one', () => {
    const state: PlacementState = { app: 'web', clusters: ['core-1', 'edge-1'], home: ['edge-1', 'core-1'], active: ['edge-1', 'core-1'], replicas: { 'edge-1': 5, 'core-1': 4 }, moves: [], pending: [] };
    const two = app({ replicas: 'Divided', maxClusters: 2, preference: ['edge-1', 'core-1', 'core-2', 'core-3'], failover: FAILOVER }, ['edge-1', 'core-1', 'core-2', 'core-3']);
    const world = { app: two, clusters: fallbacks, demand, state, health: [down('edge-1', s(-60))], now: s(0) };
    const d = run({ ...world, capacity: [capacity('core-1', 0), capacity('core-2', 450), capacity('core-3', 4000)] });
    expect(d.moves.map((m) => `${m.from}→${m.to}`)).toEqual(['edge-1→core-3']);
    expect(d.desired).toEqual([{ cluster: 'core-1', replicas: 4 }, { cluster: 'core-3', replicas: 5 }]);
    // Nowhere holds the whole share: the preferred cluster with room for one is taken.
    const tight = run({ ...world, capacity: [capacity('core-1', 0), capacity('core-2', 450), capacity('core-3', 250)] });
    expect(tight.moves.map((m) => `${m.from}→${m.to}`)).toEqual(['edge-1→core-2']);
  });
  it('weights steer the split', () => {
    const w = app({ replicas: 'Divided', weights: { 'core-1': 2, 'core-2': 1 } }, ['core-1', 'core-2']);
    const d = run({ app: w, clusters: fallbacks, demand, now: s(0) });
    expect(d.desired).toEqual([{ cluster: 'core-1', replicas: 6 }, { cluster: 'core-2', replicas: 3 }]);
  });
  it('Divided with no workload: no replicas field', () => {
    const d = run({ app: app({ replicas: 'Divided' }, ['core-1', 'core-2']), clusters: fallbacks, demand: { ...demand, replicas: 0 }, now: s(0) });
    expect(d.desired).toEqual([{ cluster: 'core-1' }, { cluster: 'core-2' }]);
  });
});
