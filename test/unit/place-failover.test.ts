import { describe, expect, it } from 'vitest';
import type { FailoverSpec } from '../../stacks/gitops.ts';
import type { MoveRecord, PlacementState } from '../../reconciler/place/types.ts';
import { app, chosen, cluster, down, FAILOVER, ready, ruleOf, run, s, T0 } from './place-fixtures.ts';

const EDGE = cluster('edge-1', { region: 'eu' });
const CORE = cluster('core-1', { region: 'eu' });
const CORE2 = cluster('core-2', { region: 'us' });
const ALL = [EDGE, CORE, CORE2];
const policy = (f: Partial<FailoverSpec> = {}) => app({ maxClusters: 1, preference: ['edge-1', 'core-1', 'core-2'], failover: { ...FAILOVER, ...f } }, ['edge-1', 'core-1', 'core-2']);
const onEdge: PlacementState = { app: 'web', clusters: ['edge-1'], home: ['edge-1'], active: ['edge-1'], moves: [{ to: 'edge-1', reason: 'placement', at: s(-7200), detail: '' }], pending: [] };
const movedToCore: PlacementState = {
  app: 'web', clusters: ['core-1', 'edge-1'], home: ['edge-1'], active: ['core-1'], pending: [],
  moves: [...onEdge.moves, { from: 'edge-1', to: 'core-1', reason: 'failover', at: s(-100), detail: '' }],
};

describe('failover: toleration clock', () => {
  it('inside tolerationSeconds the app stays; pending shows when the clock runs out and where it would go', () => {
    const d = run({ app: policy(), clusters: ALL, state: onEdge, health: [down('edge-1', s(0))], now: s(9) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.moves).toEqual([]);
    expect(d.pending).toEqual([{ from: 'edge-1', to: 'core-1', reason: 'failover: Unknown since 2026-01-01T12:00:00.000Z', dueAt: s(10) }]);
    expect(ruleOf(d, 'edge-1')).toContain('failover at 2026-01-01T12:00:10.000Z (tolerationSeconds 10)');
  });

  it('after tolerationSeconds it moves to the next preferred Ready cluster', () => {
    const d = run({ app: policy(), clusters: ALL, state: onEdge, health: [down('edge-1', s(0))], now: s(10) });
    expect(chosen(d)).toEqual(['core-1']);
    expect(d.moves).toEqual([{ from: 'edge-1', to: 'core-1', reason: 'failover', at: s(10), detail: 'edge-1 Unknown since 2026-01-01T12:00:00.000Z, longer than tolerationSeconds 10' }]);
    expect(d.next).toMatchObject({ clusters: ['core-1', 'edge-1'], active: ['core-1'], home: ['edge-1'], revision: 1 });
    expect(ruleOf(d, 'core-1')).toBe('failover: replaces edge-1');
  });

  it('wobble NotReady↔Unknown does not reset the clock: it runs from unhealthySince', () => {
    // The state changed to NotReady at 8 s, but the cluster has been unhealthy since 0 s.
    const d = run({ app: policy(), clusters: ALL, state: onEdge, health: [down('edge-1', s(8), 'NotReady', s(0))], now: s(10) });
    expect(d.moves.map((m) => m.reason)).toEqual(['failover']);
  });

  it('a cluster Ready again before the toleration runs out keeps the app, with nothing pending', () => {
    const d = run({ app: policy(), clusters: ALL, state: onEdge, health: [ready('edge-1', s(5))], now: s(20) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.pending).toEqual([]);
  });

  it('the replacement respects spreadBy against the clusters that stay', () => {
    const spread = app({ maxClusters: 2, spreadBy: 'region', preference: ['edge-1', 'core-2', 'core-1'], failover: FAILOVER }, ['edge-1', 'core-1', 'core-2']);
    const state: PlacementState = { app: 'web', clusters: ['core-2', 'edge-1'], home: ['edge-1', 'core-2'], active: ['edge-1', 'core-2'], moves: [], pending: [] };
    const d = run({ app: spread, clusters: ALL, state, health: [down('edge-1', s(0))], now: s(10) });
    expect(chosen(d)).toEqual(['core-2', 'core-1']);
    const us = cluster('core-3', { region: 'us' });
    const d2 = run({ app: app({ ...spread.placement!, preference: ['edge-1', 'core-2', 'core-3'] }, ['edge-1', 'core-2', 'core-3']), clusters: [EDGE, CORE2, us], state, health: [down('edge-1', s(0))], now: s(10) });
    expect(chosen(d2)).toEqual(['edge-1', 'core-2']);
    expect(d2.blocked).toBe('edge-1: no replacement for edge-1: no other Ready candidate with room');
  });
});

describe('failover: never zero clusters', () => {
  it('no replacement possible: the app stays where it is and blocked says why', () => {
    const d = run({ app: policy(), clusters: ALL, state: onEdge, health: [down('edge-1', s(0)), down('core-1', s(0)), down('core-2', s(0), 'NotReady')], now: s(60) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.purge).toEqual([]);
    expect(d.blocked).toBe('edge-1: no replacement for edge-1: no other Ready candidate with room');
    expect(d.pending[0]).toMatchObject({ from: 'edge-1', waitingFor: 'no replacement for edge-1: no other Ready candidate with room' });
  });
});

describe('failover: PersistentVolumeClaims', () => {
  const pvc = { perReplica: { cpuMilli: 0, memoryBytes: 0, pods: 1 }, replicas: 1, ownsPvc: true };
  it('an app with a PVC and no data policy is never moved; blocked says why', () => {
    const d = run({ app: policy(), clusters: ALL, state: onEdge, demand: pvc, health: [down('edge-1', s(0))], now: s(600) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.moves).toEqual([]);
    expect(d.blocked).toBe('edge-1: owns PersistentVolumeClaims and failover.data is not set: not moved (set data: abandon or replicated)');
  });
  it.each(['abandon', 'replicated'] as const)('data: %s lets it move', (data) => {
    const d = run({ app: policy({ data }), clusters: ALL, state: onEdge, demand: pvc, health: [down('edge-1', s(0))], now: s(600) });
    expect(chosen(d)).toEqual(['core-1']);
  });
});

describe('failover: move cap', () => {
  const moves = (n: number, firstAt: number): MoveRecord[] => Array.from({ length: n }, (_, i) => ({ from: 'x', to: 'y', reason: i % 2 ? 'failback' : 'failover', at: firstAt + i * 60_000, detail: '' }));
  it('maxMovesPerHour reached within the last hour: no move, blocked names when the next is possible', () => {
    const state = { ...onEdge, moves: moves(4, s(-1800)) };
    const d = run({ app: policy(), clusters: ALL, state, health: [down('edge-1', s(0))], now: s(60) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.blocked).toBe('edge-1: maxMovesPerHour 4 reached (4 in the last hour; next move possible at 2026-01-01T12:30:00.000Z)');
  });
  it('more moves than the cap in the window (the cap was lowered): the next move waits for enough of them to age out', () => {
    const state = { ...onEdge, moves: moves(5, s(-1800)) };
    const d = run({ app: policy({ maxMovesPerHour: 2 }), clusters: ALL, state, health: [down('edge-1', s(0))], now: s(60) });
    expect(d.blocked).toBe('edge-1: maxMovesPerHour 2 reached (5 in the last hour; next move possible at 2026-01-01T12:33:00.000Z)');
  });
  it('moves older than an hour and purge/placement records do not count', () => {
    const state = { ...onEdge, moves: [...moves(4, s(-3700)), { from: 'x', reason: 'purge' as const, at: s(-10), detail: '' }, { to: 'x', reason: 'placement' as const, at: s(-10), detail: '' }] };
    const d = run({ app: policy(), clusters: ALL, state, health: [down('edge-1', s(0))], now: s(60) });
    expect(chosen(d)).toEqual(['core-1']);
  });
  it('a flapping cluster: one failover, one failback, then the cap holds the app still', () => {
    const f = policy({ maxMovesPerHour: 2, failback: { enabled: true, stabilizationSeconds: 5 } });
    let state: PlacementState = onEdge;
    const all = { core: 'Healthy' as const };
    let total = 0;
    // edge-1 flaps: down 20 s, up 20 s, for 10 minutes.
    for (let t = 0; t < 600; t += 1) {
      const phase = Math.floor(t / 20) % 2;
      const health = phase === 0 ? [down('edge-1', s(t - (t % 20)))] : [ready('edge-1', s(t - (t % 20)))];
      const d = run({ app: f, clusters: ALL, state, health, appHealth: { 'edge-1': 'Healthy', 'core-1': all.core }, now: s(t) });
      total += d.moves.filter((m) => m.reason === 'failover' || m.reason === 'failback').length;
      expect(d.desired.length).toBeGreaterThan(0);
      state = d.next;
    }
    expect(total).toBe(2);
  });
});

describe('failover: purge modes', () => {
  it('Graciously: the failed cluster is kept (not purged) while unreachable', () => {
    const d = run({ app: policy(), clusters: ALL, state: movedToCore, health: [down('edge-1', s(-200))], appHealth: { 'core-1': 'Healthy' }, now: s(0) });
    expect(d.purge).toEqual([]);
    expect(d.pending).toContainEqual({ from: 'edge-1', reason: 'purge', waitingFor: 'edge-1 reachable again' });
  });
  it('Graciously: reachable again but the replacement not Healthy yet → still kept', () => {
    const d = run({ app: policy({ failback: { enabled: false, stabilizationSeconds: 30 } }), clusters: ALL, state: movedToCore, health: [ready('edge-1', s(-1))], appHealth: { 'core-1': 'Progressing' }, now: s(0) });
    expect(d.purge).toEqual([]);
    expect(d.pending).toContainEqual({ from: 'edge-1', reason: 'purge', waitingFor: 'app Healthy on core-1' });
  });
  it('Graciously: reachable and the replacement Healthy → purged, recorded, gone from next.clusters', () => {
    const d = run({ app: policy({ failback: { enabled: false, stabilizationSeconds: 30 } }), clusters: ALL, state: movedToCore, health: [ready('edge-1', s(-1))], appHealth: { 'core-1': 'Healthy' }, now: s(0) });
    expect(d.purge).toEqual(['edge-1']);
    expect(d.moves).toEqual([{ from: 'edge-1', reason: 'purge', at: s(0), detail: 'purgeMode Graciously: edge-1 reachable and the app Healthy on core-1' }]);
    expect(d.next.clusters).toEqual(['core-1']);
  });
  it('Immediately: a failed cluster that still answers (NotReady) is purged in the same decision as the move', () => {
    const d = run({ app: policy({ purgeMode: 'Immediately' }), clusters: ALL, state: onEdge, health: [down('edge-1', s(0), 'NotReady')], now: s(10) });
    expect(chosen(d)).toEqual(['core-1']);
    expect(d.purge).toEqual(['edge-1']);
    expect(d.next.clusters).toEqual(['core-1']);
  });
  it('Immediately: an unreachable cluster is not purged blindly; once back, only after the replacement is Healthy', () => {
    const d = run({ app: policy({ purgeMode: 'Immediately' }), clusters: ALL, state: onEdge, health: [down('edge-1', s(0), 'Unknown')], now: s(10) });
    expect(d.purge).toEqual([]);
    expect(d.next.clusters).toEqual(['core-1', 'edge-1']);
    const back = run({ app: policy({ purgeMode: 'Immediately' }), clusters: ALL, state: d.next, health: [ready('edge-1', s(3600))], appHealth: { 'core-1': 'Progressing' }, now: s(3601) });
    expect(back.purge).toEqual([]);
  });
  it('Never: the app is left on the failed cluster, and status says so', () => {
    const d = run({ app: policy({ purgeMode: 'Never', failback: { enabled: false, stabilizationSeconds: 30 } }), clusters: ALL, state: movedToCore, health: [ready('edge-1', s(-100))], appHealth: { 'core-1': 'Healthy' }, now: s(0) });
    expect(d.purge).toEqual([]);
    expect(d.next.clusters).toEqual(['core-1', 'edge-1']);
    expect(d.pending).toContainEqual({ from: 'edge-1', reason: 'purge', waitingFor: 'purgeMode Never: left in place' });
    expect(ruleOf(d, 'edge-1')).toContain('purgeMode Never');
  });
  it('a cluster back after a long outage is never purged while its replacement is not Healthy', () => {
    const d = run({ app: policy(), clusters: ALL, state: { ...movedToCore, moves: [{ from: 'edge-1', to: 'core-1', reason: 'failover', at: s(-86_400), detail: '' }] }, health: [ready('edge-1', s(0))], appHealth: { 'core-1': 'Degraded' }, now: s(1) });
    expect(d.purge).toEqual([]);
    expect(chosen(d)).toEqual(['core-1']);
  });
});

describe('failback', () => {
  const home = (readySince: number) => [ready('edge-1', readySince)];
  it('waits stabilizationSeconds of Ready at home; pending shows when', () => {
    const d = run({ app: policy({ purgeMode: 'Never' }), clusters: ALL, state: movedToCore, health: home(s(0)), appHealth: { 'core-1': 'Healthy' }, now: s(29) });
    expect(chosen(d)).toEqual(['core-1']);
    expect(d.pending).toContainEqual({ from: 'core-1', to: 'edge-1', reason: 'failback: edge-1 Ready since 2026-01-01T12:00:00.000Z', dueAt: s(30) });
  });
  it('after stabilizationSeconds the app is applied at home too, the stand-in kept until Healthy at home', () => {
    const d = run({ app: policy(), clusters: ALL, state: movedToCore, health: home(s(0)), appHealth: { 'core-1': 'Healthy' }, now: s(30) });
    expect(chosen(d)).toEqual(['edge-1', 'core-1']);
    expect(d.moves[0]).toEqual({ from: 'core-1', to: 'edge-1', reason: 'failback', at: s(30), detail: 'edge-1 Ready since 2026-01-01T12:00:00.000Z, longer than stabilizationSeconds 30' });
    expect(d.purge).toEqual([]);
    expect(d.pending).toContainEqual({ from: 'core-1', to: 'edge-1', reason: 'failback: stand-in kept', waitingFor: 'app Healthy on edge-1' });
  });
  it('once Healthy at home the stand-in is dropped and purged', () => {
    const first = run({ app: policy(), clusters: ALL, state: movedToCore, health: home(s(0)), appHealth: { 'core-1': 'Healthy' }, now: s(30) });
    const d = run({ app: policy(), clusters: ALL, state: first.next, health: home(s(0)), appHealth: { 'core-1': 'Healthy', 'edge-1': 'Healthy' }, now: s(35) });
    expect(chosen(d)).toEqual(['edge-1']);
    expect(d.purge).toEqual(['core-1']);
    expect(d.next).toMatchObject({ clusters: ['edge-1'], active: ['edge-1'] });
  });
  it('a wobble at home restarts the stabilization (it needs Ready without a break)', () => {
    const d = run({ app: policy(), clusters: ALL, state: movedToCore, health: home(s(25)), appHealth: { 'core-1': 'Healthy' }, now: s(40) });
    expect(chosen(d)).toEqual(['core-1']);
  });
  it('failback disabled: stays on the stand-in', () => {
    const d = run({ app: policy({ failback: { enabled: false, stabilizationSeconds: 0 } }), clusters: ALL, state: movedToCore, health: home(s(0)), appHealth: { 'core-1': 'Healthy' }, now: s(3600) });
    expect(chosen(d)).toEqual(['core-1']);
    expect(d.moves.every((m) => m.reason === 'purge')).toBe(true);
  });
  it('failback counts against maxMovesPerHour', () => {
    const state = { ...movedToCore, moves: Array.from({ length: 4 }, (_, i) => ({ from: 'edge-1', to: 'core-1', reason: 'failover' as const, at: s(-100 + i), detail: '' })) };
    const d = run({ app: policy(), clusters: ALL, state, health: home(s(-3000)), appHealth: { 'core-1': 'Healthy' }, now: s(0) });
    expect(chosen(d)).toEqual(['core-1']);
    expect(d.blocked).toMatch(/^failback to edge-1: maxMovesPerHour 4 reached/);
  });
  it('a second failure of the stand-in moves on again, and the history keeps growing newest last', () => {
    const d = run({ app: policy(), clusters: ALL, state: movedToCore, health: [down('edge-1', s(-200)), down('core-1', s(0))], appHealth: {}, now: s(10) });
    expect(chosen(d)).toEqual(['core-2']);
    expect(d.next.moves.at(-1)).toMatchObject({ from: 'core-1', to: 'core-2', reason: 'failover' });
    expect(d.next.moves[0]?.at).toBe(T0 - 7_200_000);
  });
});

describe('back to a home that was unhealthy at first placement', () => {
  const started: PlacementState = { app: 'web', clusters: ['core-1'], home: ['edge-1'], active: ['core-1'], moves: [{ to: 'core-1', reason: 'placement', at: s(-100), detail: '' }], pending: [] };
  it('is a placement move after stabilizationSeconds, not counted against the cap, stand-in dropped once Healthy at home', () => {
    const early = run({ app: policy({ maxMovesPerHour: 1 }), clusters: ALL, state: { ...started, moves: [...started.moves, { from: 'x', to: 'y', reason: 'failover', at: s(-10), detail: '' }] }, health: [ready('edge-1', s(0))], now: s(29) });
    expect(chosen(early)).toEqual(['core-1']);
    expect(early.pending).toContainEqual({ from: 'core-1', to: 'edge-1', reason: 'placement: edge-1 Ready since 2026-01-01T12:00:00.000Z', dueAt: s(30) });
    const d = run({ app: policy({ maxMovesPerHour: 1 }), clusters: ALL, state: early.next, health: [ready('edge-1', s(0))], now: s(30) });
    expect(chosen(d)).toEqual(['edge-1', 'core-1']);
    expect(d.moves).toEqual([{ from: 'core-1', to: 'edge-1', reason: 'placement', at: s(30), detail: 'edge-1 Ready since 2026-01-01T12:00:00.000Z, longer than stabilizationSeconds 30' }]);
    const done = run({ app: policy(), clusters: ALL, state: d.next, health: [ready('edge-1', s(0))], appHealth: { 'edge-1': 'Healthy', 'core-1': 'Healthy' }, now: s(31) });
    expect(chosen(done)).toEqual(['edge-1']);
    expect(done.purge).toEqual(['core-1']);
  });
});

describe('idempotence (a new serve replica re-deciding from the stored state)', () => {
  it('deciding again from `next` with the same world makes no further moves', () => {
    const world = { app: policy(), clusters: ALL, health: [down('edge-1', s(0))], appHealth: { 'core-1': 'Progressing' as const }, now: s(10) };
    const first = run({ ...world, state: onEdge });
    expect(first.moves).toHaveLength(1);
    const again = run({ ...world, state: first.next, now: s(11) });
    expect(again.moves).toEqual([]);
    expect(chosen(again)).toEqual(chosen(first));
    expect(again.next.clusters).toEqual(first.next.clusters);
  });
  it('a cluster removed from targets leaves (placement), as long as another stays', () => {
    const d = run({ app: policy(), clusters: ALL, state: { ...onEdge, clusters: ['core-1', 'gone'], active: ['core-1', 'gone'] }, appHealth: { 'core-1': 'Healthy' }, now: s(0) });
    expect(chosen(d)).toEqual(['edge-1', 'core-1']); // home edge-1 (no probe yet: Ready) comes back too
    expect(d.moves).toContainEqual({ from: 'gone', reason: 'placement', at: s(0), detail: 'gone is no longer a target' });
  });
});
