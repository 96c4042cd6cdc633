import { describe, expect, it } from 'vitest';
import { healthAnswer, placementAnswer } from '../../reconciler/dashboard/placement-view.ts';
import type { PlacementState } from '../../reconciler/failover/state.ts';

const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);

describe('placementAnswer', () => {
  it('gives the decided clusters, why, sorted explanation rows, pending moves with time left, and moves newest first', () => {
    const state: PlacementState = {
      app: 'web',
      clusters: ['core-1'],
      home: ['edge-1'],
      desired: [{ cluster: 'core-1' }],
      active: ['core-1'],
      moves: [
        { to: 'edge-1', reason: 'placement', at: T0, detail: 'first placement' },
        { from: 'edge-1', to: 'core-1', reason: 'failover', at: T0 + 10_000, detail: 'edge-1 NotReady for 4s' },
      ],
      pending: [{ from: 'core-1', to: 'edge-1', reason: 'failback', dueAt: T0 + 25_000 }],
    };
    const explain = [
      { cluster: 'edge-1', chosen: false, rule: 'health: NotReady' },
      { cluster: 'core-1', chosen: true, rule: 'preference 2' },
    ];
    const { placement, moves } = placementAnswer(state, explain, T0 + 20_000);
    expect(placement).toEqual({
      clusters: ['core-1'],
      home: ['edge-1'],
      why: 'failed over from edge-1: edge-1 NotReady for 4s',
      explain: [explain[1], explain[0]],
      pending: [{ from: 'core-1', to: 'edge-1', reason: 'failback', dueAt: '2026-11-26T08:00:25.000Z', secondsLeft: 5 }],
    });
    expect(moves.map((m) => [m.reason, m.from, m.to, m.at])).toEqual([
      ['failover', 'edge-1', 'core-1', '2026-11-26T08:00:10.000Z'],
      ['placement', '-', 'edge-1', '2026-11-26T08:00:00.000Z'],
    ]);
  });

  it('says why an app is blocked, and leaves explain out before a decision of this serve', () => {
    const { placement } = placementAnswer({ app: 'db', clusters: ['a'], home: ['a'], moves: [], pending: [], blocked: 'owns PVCs and has no data policy' }, undefined, T0);
    expect(placement).toEqual({ clusters: ['a'], home: ['a'], why: 'stays put: owns PVCs and has no data policy', pending: [], blocked: 'owns PVCs and has no data policy' });
  });
});

describe('healthAnswer', () => {
  it('turns the clocks into ISO times and keeps latency', () => {
    expect(healthAnswer({ cluster: 'a', state: 'NotReady', since: T0, unhealthySince: T0 - 1000, reachable: true, latencyMs: 12 })).toEqual({
      state: 'NotReady',
      since: '2026-11-26T08:00:00.000Z',
      unhealthySince: '2026-11-26T07:59:59.000Z',
      reachable: true,
      latencyMs: 12,
    });
  });
});
