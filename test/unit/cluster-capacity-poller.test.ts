import { describe, expect, it } from 'vitest';
import { CapacityPoller } from '../../clusters/health/capacity-poller.ts';
import type { ProbeClient } from '../../clusters/health/probe.ts';
import type { ClusterCapacity } from '../../clusters/health/types.ts';

const client = (cluster: string) => ({ cluster }) as ProbeClient;
const cap = (cluster: string, cpuMilli: number): ClusterCapacity => ({ cluster, allocatable: { cpuMilli, memoryBytes: 0, pods: 10 }, requested: { cpuMilli: 0, memoryBytes: 0, pods: 0 } });

describe('CapacityPoller', () => {
  it('keeps the last good read per cluster and drops a cluster whose read fails (no capacity rule for it)', async () => {
    let failing = false;
    const changed: string[] = [];
    const errors: string[] = [];
    const poller = new CapacityPoller({
      clusters: () => [client('b'), client('a')],
      read: async (c) => {
        if (failing && c.cluster === 'b') throw new Error('b: connection refused');
        return cap(c.cluster, c.cluster === 'a' ? 1000 : 2000);
      },
      onChange: (n) => changed.push(n),
      onError: (_e, n) => errors.push(n),
    });
    await poller.readAll(new AbortController().signal);
    expect([...poller.snapshot().keys()]).toEqual(['a', 'b']);
    expect(changed.sort()).toEqual(['a', 'b']);
    failing = true;
    await poller.readAll(new AbortController().signal);
    expect([...poller.snapshot().keys()]).toEqual(['a']);
    expect(errors).toEqual(['b']);
    expect(changed.sort()).toEqual(['a', 'b', 'b']);
  });

  it('gives up on a read that outlives its timeout, without waiting for it', async () => {
    const poller = new CapacityPoller({
      clusters: () => [client('slow')],
      timeoutMs: 50,
      read: (_c, signal) => new Promise((_res, rej) => signal.addEventListener('abort', () => rej(signal.reason))),
    });
    const started = performance.now();
    await poller.readAll(new AbortController().signal);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(poller.snapshot().size).toBe(0);
  });
});
