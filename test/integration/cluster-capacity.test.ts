import { afterAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { readCapacity } from '../../clusters/health/capacity.ts';
import { testClusters } from '../harness/environment.ts';

/** readCapacity against a real cluster: kwok nodes' allocatable minus what pods bound to them request. */

const [cluster] = testClusters();
if (!cluster) throw new Error('the harness started no clusters');
const k = new KubeClient(cluster.name, cluster.kubeconfig);
const ns = `capacity-${Date.now()}`;

afterAll(async () => {
  await k.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  k.close();
});

interface Pod { spec?: { nodeName?: string }; status?: { phase?: string } }

describe('readCapacity', () => {
  it('subtracts the requests of scheduled pods, not of finished ones', async () => {
    await k.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
    const before = await readCapacity(k);
    const nodes = await k.request<{ items: { status: { allocatable: Record<string, string> } }[] }>('GET', '/api/v1/nodes');
    expect(before.allocatable.pods).toBeGreaterThan(0);
    expect(before.allocatable.cpuMilli).toBeGreaterThan(0);
    expect(nodes.items.length).toBeGreaterThan(0);

    const pod = (name: string, cpu: string, memory: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns },
      spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu, memory } } }] },
    });
    await k.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('a', '300m', '256Mi') });
    await k.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('b', '1200m', '1Gi') });
    const scheduled = await waitFor(
      async () => {
        const list = await k.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`);
        return list.items.length === 2 && list.items.every((p) => p.spec?.nodeName && p.status?.phase === 'Running') ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(scheduled).toBe(true);

    const after = await readCapacity(k);
    expect(after.allocatable).toEqual(before.allocatable);
    expect(after.requested.cpuMilli - before.requested.cpuMilli).toBe(1500);
    expect(after.requested.memoryBytes - before.requested.memoryBytes).toBe(256 * 2 ** 20 + 2 ** 30);
    expect(after.requested.pods - before.requested.pods).toBe(2);

    // A finished pod holds nothing: mark b Succeeded (kwok plays the kubelet; the status subresource is ours to write).
    const b = await k.request<Record<string, unknown> & { status: Record<string, unknown> }>('GET', `/api/v1/namespaces/${ns}/pods/b`);
    await k.request('PUT', `/api/v1/namespaces/${ns}/pods/b/status`, { body: { ...b, status: { ...b.status, phase: 'Succeeded' } } });
    const finished = await waitFor(async () => {
      const c = await readCapacity(k);
      return c.requested.pods - before.requested.pods === 1 ? c : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    expect(finished?.requested.cpuMilli).toBe(before.requested.cpuMilli + 300);
  });
});
