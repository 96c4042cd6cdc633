import type { KubeObject } from '../types.ts';
import { NO_RESOURCES } from './capacity.ts';
import type { AppDemand, Resources } from './types.ts';

const WORKLOADS = new Set(['Deployment', 'StatefulSet']);

/**
 * What the app's rendered objects ask of a cluster: Deployments and StatefulSets (requests of their containers ×
 * replicas, one pod each), and whether it owns PersistentVolumeClaims (a PVC object or a volumeClaimTemplate).
 * `perReplica` is the average over all workload replicas. Pure.
 */
export function demandOf(objects: readonly KubeObject[]): AppDemand {
  let replicas = 0;
  let total: Resources = NO_RESOURCES;
  let ownsPvc = false;
  for (const o of objects) {
    if (o.kind === 'PersistentVolumeClaim') ownsPvc = true;
    if (!WORKLOADS.has(o.kind)) continue;
    const spec = (o['spec'] ?? {}) as { replicas?: unknown; template?: { spec?: PodSpec }; volumeClaimTemplates?: unknown[] };
    if (o.kind === 'StatefulSet' && (spec.volumeClaimTemplates?.length ?? 0) > 0) ownsPvc = true;
    const n = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const pod = podRequests(spec.template?.spec);
    replicas += n;
    total = { cpuMilli: total.cpuMilli + pod.cpuMilli * n, memoryBytes: total.memoryBytes + pod.memoryBytes * n, pods: total.pods + n };
  }
  const perReplica = replicas > 0 ? { cpuMilli: Math.ceil(total.cpuMilli / replicas), memoryBytes: Math.ceil(total.memoryBytes / replicas), pods: 1 } : { ...NO_RESOURCES, pods: 1 };
  return { perReplica, replicas, ownsPvc };
}

interface PodSpec {
  containers?: { resources?: { requests?: Record<string, unknown> } }[];
  initContainers?: { resources?: { requests?: Record<string, unknown> } }[];
  volumes?: { persistentVolumeClaim?: unknown }[];
}

/** Sum of containers' requests; init containers count as their maximum (they run one at a time, before the rest). */
function podRequests(spec: PodSpec | undefined): Resources {
  const sum = (list: PodSpec['containers'], f: (r: Record<string, unknown>) => number) => (list ?? []).reduce((a, c) => a + f(c.resources?.requests ?? {}), 0);
  const max = (list: PodSpec['containers'], f: (r: Record<string, unknown>) => number) => (list ?? []).reduce((a, c) => Math.max(a, f(c.resources?.requests ?? {})), 0);
  const cpu = (r: Record<string, unknown>) => parseCpu(r['cpu']);
  const mem = (r: Record<string, unknown>) => parseQuantity(r['memory']);
  return { cpuMilli: Math.max(sum(spec?.containers, cpu), max(spec?.initContainers, cpu)), memoryBytes: Math.max(sum(spec?.containers, mem), max(spec?.initContainers, mem)), pods: 1 };
}

export function parseCpu(v: unknown): number {
  if (typeof v === 'number') return Math.ceil(v * 1000);
  if (typeof v !== 'string') return 0;
  if (v.endsWith('m')) return Math.ceil(Number(v.slice(0, -1)) || 0);
  return Math.ceil((Number(v) || 0) * 1000);
}

const SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, m: 1e-3 };

/** A Kubernetes quantity (`128Mi`, `1G`, `1e3`) in base units, rounded up. */
export function parseQuantity(v: unknown): number {
  if (typeof v === 'number') return Math.ceil(v);
  if (typeof v !== 'string') return 0;
  const m = /^([0-9.eE+-]+?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?$/.exec(v.trim());
  if (!m) return 0;
  return Math.ceil((Number(m[1]) || 0) * (m[2] ? (SUFFIX[m[2]] ?? 1) : 1));
}
