import { describe, expect, it } from 'vitest';
import { ClusterUnreachableError } from '../../clusters/errors.ts';
import { HealthStoreError } from '../../clusters/health/health-errors.ts';
import type { HealthStore } from '../../clusters/health/health-store.ts';
import { HealthMonitor } from '../../clusters/health/monitor.ts';
import type { ProbeClient } from '../../clusters/health/probe.ts';
import type { ClusterHealth } from '../../clusters/health/types.ts';

/**
 * The monitor's bookkeeping around the store (the probes and the store themselves are tested
 * against real apiservers in test/integration/cluster-health.test.ts). The cluster here is one
 * nobody answers for: every request is refused, as a dead apiserver's port is.
 */
const silent: ProbeClient = {
  cluster: 'gone',
  request: () => Promise.reject(new ClusterUnreachableError('gone', 'GET /readyz: ECONNREFUSED')),
};

/** A store whose first `failures` writes fail (the management cluster is briefly down). */
function flakyStore(failures: number, stored = new Map<string, ClusterHealth>()) {
  const writes: ClusterHealth[] = [];
  let left = failures;
  const store: HealthStore = {
    load: async () => new Map(stored),
    save: async (h) => {
      if (left-- > 0) throw new HealthStoreError('management cluster unreachable');
      writes.push(h);
      stored.set(h.cluster, h);
      return h;
    },
  };
  return { store, writes, stored };
}

describe('HealthMonitor and its store', () => {
  it('a change the store could not take is written again on the next round, without a new change', async () => {
    const { store, writes } = flakyStore(1);
    const errors: unknown[] = [];
    let now = 10_000;
    const m = new HealthMonitor({ clusters: () => [silent], store, now: () => now, onError: (e) => errors.push(e) });
    await m.probeOnce();
    expect(m.get('gone')).toMatchObject({ state: 'Unknown', unhealthySince: 10_000, reachable: false });
    expect(writes).toHaveLength(0);
    expect(errors).toHaveLength(1);
    now = 12_000;
    await m.probeOnce();
    expect(writes).toEqual([expect.objectContaining({ cluster: 'gone', state: 'Unknown', since: 10_000, unhealthySince: 10_000 })]);
    now = 14_000;
    await m.probeOnce();
    expect(writes).toHaveLength(1);
  });

  it('starts from the stored clocks and announces no change while they hold', async () => {
    const { store, writes } = flakyStore(0, new Map([['gone', { cluster: 'gone', state: 'Unknown' as const, since: 500, unhealthySince: 100, reachable: false }]]));
    const changes: ClusterHealth[] = [];
    const metrics: string[] = [];
    const m = new HealthMonitor({ clusters: () => [silent], store, now: () => 9_000, onChange: (_c, h) => changes.push(h), onMetric: (c, s) => metrics.push(`${c}=${s}`) });
    await m.probeOnce();
    expect(m.snapshot().get('gone')).toMatchObject({ state: 'Unknown', since: 500, unhealthySince: 100 });
    expect(changes).toEqual([]);
    expect(writes).toEqual([]);
    expect(metrics).toEqual(['gone=Unknown']);
  });

  it('drops a cluster that left the stack from the snapshot', async () => {
    let clusters: ProbeClient[] = [silent];
    const m = new HealthMonitor({ clusters: () => clusters, now: () => 1 });
    await m.probeOnce();
    expect([...m.snapshot().keys()]).toEqual(['gone']);
    clusters = [];
    await m.probeOnce();
    expect(m.snapshot().size).toBe(0);
  });
});
