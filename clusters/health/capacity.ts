import type { ProbeClient } from './probe.ts';
import { bytes, cpuMilli, parseQuantity } from './quantity.ts';
import type { ClusterCapacity, Resources } from './types.ts';

/**
 * What a cluster can still hold: the allocatable of its schedulable Ready nodes minus the
 * requests of the non-terminated pods bound to them (as the scheduler counts: per pod the
 * larger of the containers' sum and the largest init container, plus overhead). kwok nodes
 * report allocatable like kubelets do.
 */

type ResourceMap = Readonly<Record<string, string>>;
interface Container { resources?: { requests?: ResourceMap } }
interface Pod { spec?: { nodeName?: string; containers?: Container[]; initContainers?: (Container & { restartPolicy?: string })[]; overhead?: ResourceMap }; status?: { phase?: string } }
interface Node { metadata: { name: string }; spec?: { unschedulable?: boolean }; status?: { allocatable?: ResourceMap; conditions?: { type: string; status: string }[] } }

export const NO_RESOURCES: Resources = { cpuMilli: 0, memoryBytes: 0, pods: 0 };

export async function readCapacity(client: ProbeClient, signal?: AbortSignal): Promise<ClusterCapacity> {
  const [nodes, pods] = await Promise.all([
    client.request<{ items?: Node[] }>('GET', '/api/v1/nodes', { ...(signal ? { signal } : {}) }),
    client.request<{ items?: Pod[] }>('GET', '/api/v1/pods', { query: { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }, ...(signal ? { signal } : {}) }),
  ]);
  return capacityOf(client.cluster, nodes.items ?? [], pods.items ?? []);
}

/** The pure part: nodes and pods in, capacity out. */
export function capacityOf(cluster: string, nodes: readonly Node[], pods: readonly Pod[]): ClusterCapacity {
  const usable = nodes.filter((n) => !n.spec?.unschedulable && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const names = new Set(usable.map((n) => n.metadata.name));
  let allocatable = NO_RESOURCES;
  for (const n of usable) allocatable = add(allocatable, fromMap(n.status?.allocatable));
  let requested = NO_RESOURCES;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed' || !p.spec?.nodeName || !names.has(p.spec.nodeName)) continue;
    requested = add(requested, podRequests(p));
  }
  return { cluster, allocatable, requested };
}

/** allocatable − requested, never below zero. */
export function freeOf(c: ClusterCapacity): Resources {
  return {
    cpuMilli: Math.max(0, c.allocatable.cpuMilli - c.requested.cpuMilli),
    memoryBytes: Math.max(0, c.allocatable.memoryBytes - c.requested.memoryBytes),
    pods: Math.max(0, c.allocatable.pods - c.requested.pods),
  };
}

function podRequests(p: Pod): Resources {
  let sum = NO_RESOURCES;
  for (const c of p.spec?.containers ?? []) sum = add(sum, fromMap(c.resources?.requests));
  // Sidecars (init containers that keep running) add up with the app containers; the others run one at a time before them.
  let initPeak = NO_RESOURCES;
  for (const c of p.spec?.initContainers ?? []) {
    const r = fromMap(c.resources?.requests);
    if (c.restartPolicy === 'Always') sum = add(sum, r);
    else initPeak = max(initPeak, r);
  }
  return { ...add(max(sum, initPeak), fromMap(p.spec?.overhead)), pods: 1 };
}

function fromMap(m: ResourceMap | undefined): Resources {
  return { cpuMilli: cpuMilli(m?.['cpu']), memoryBytes: bytes(m?.['memory']), pods: m?.['pods'] ? Math.floor(parseQuantity(m['pods'])) : 0 };
}

function add(a: Resources, b: Resources): Resources {
  return { cpuMilli: a.cpuMilli + b.cpuMilli, memoryBytes: a.memoryBytes + b.memoryBytes, pods: a.pods + b.pods };
}

function max(a: Resources, b: Resources): Resources {
  return { cpuMilli: Math.max(a.cpuMilli, b.cpuMilli), memoryBytes: Math.max(a.memoryBytes, b.memoryBytes), pods: Math.max(a.pods, b.pods) };
}
