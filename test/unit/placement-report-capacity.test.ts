import { describe, expect, it } from 'vitest';
import { placementLines, placementRows } from '../../reconciler/failover/report.ts';
import type { PlacementState } from '../../reconciler/failover/state.ts';

describe('placement rows: capacity and Divided replicas', () => {
  it('name the candidates left out for lack of room and the replicas per cluster, sorted', () => {
    const state: PlacementState = {
      app: 'web',
      clusters: ['b', 'a'],
      home: ['a', 'b'],
      moves: [],
      pending: [],
      desired: [{ cluster: 'b', replicas: 3 }, { cluster: 'a', replicas: 3 }],
      capacity: { z: 'capacity: needs 500m cpu for 1 replica(s), 100m cpu free', full: 'capacity: needs 500m cpu for 1 replica(s), 0m cpu free' },
    };
    const rows = placementRows([state], 0);
    expect(JSON.stringify(rows[0]?.replicas)).toBe('{"a":3,"b":3}');
    expect(placementLines(rows)).toEqual([
      'web: on b, a (replicas a×3, b×3) (home a, b) — at home; not on full: capacity: needs 500m cpu for 1 replica(s), 0m cpu free; not on z: capacity: needs 500m cpu for 1 replica(s), 100m cpu free',
    ]);
  });
});
