import type { KubeObject } from '../types.ts';

/**
 * Health of one live object, after the kstatus rules: Current (healthy), InProgress, Failed.
 * Pure: the object in, a verdict and a reason out.
 */

export type ObjectHealth = { readonly status: 'Current' | 'InProgress' | 'Failed'; readonly message: string };

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

type Status = Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };

const current = (message = 'ready'): ObjectHealth => ({ status: 'Current', message });
const progressing = (message: string): ObjectHealth => ({ status: 'InProgress', message });
const failed = (message: string): ObjectHealth => ({ status: 'Failed', message });

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function condition(s: Status, type: string): Condition | undefined {
  return s.conditions?.find((c) => c.type === type);
}

export function healthOf(obj: KubeObject): ObjectHealth {
  if (obj.metadata.deletionTimestamp) return progressing('being deleted');
  const status = (obj['status'] ?? {}) as Status;
  const spec = (obj['spec'] ?? {}) as Record<string, unknown>;
  const generation = obj.metadata.generation;
  if (generation !== undefined && status.observedGeneration !== undefined && status.observedGeneration < generation) {
    return progressing(`controller has not observed generation ${generation} yet`);
  }
  const rule = RULES[obj.kind];
  if (rule) return rule(status, spec, obj);
  const ready = condition(status, 'Ready');
  if (ready?.status === 'True') return current();
  if (ready?.status === 'False') return progressing(ready.message ?? ready.reason ?? 'Ready is False');
  return current('no readiness signal; exists');
}

/** Kinds with no status to judge: healthy once they exist, so no round needs to read them for health. */
const NO_STATUS = new Set(['ConfigMap', 'Secret', 'ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'NetworkPolicy', 'PriorityClass', 'LimitRange', 'Endpoints', 'EndpointSlice', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'StorageClass', 'IngressClass', 'RuntimeClass']);

export function hasHealthSignal(kind: string): boolean {
  return !NO_STATUS.has(kind);
}

type Rule = (s: Status, spec: Record<string, unknown>, obj: KubeObject) => ObjectHealth;

const workloadObserved = (s: Status, obj: KubeObject) => obj.metadata.generation === undefined || s.observedGeneration !== undefined;

const RULES: Record<string, Rule> = {
  Deployment: (s, spec, obj) => {
    if (!workloadObserved(s, obj)) return progressing('not yet observed by the controller');
    const want = spec['replicas'] === undefined ? 1 : num(spec['replicas']);
    const p = condition(s, 'Progressing');
    if (p?.reason === 'ProgressDeadlineExceeded') return failed(`rollout stalled: ${p.message ?? 'progress deadline exceeded'}`);
    if (num(s['updatedReplicas']) < want) return progressing(`${num(s['updatedReplicas'])}/${want} replicas updated`);
    if (num(s['replicas']) > want) return progressing(`${num(s['replicas']) - want} old replicas terminating`);
    if (num(s['availableReplicas']) < want) return progressing(`${num(s['availableReplicas'])}/${want} replicas available`);
    return current(`${want} replicas available`);
  },
  StatefulSet: (s, spec, obj) => {
    if (!workloadObserved(s, obj)) return progressing('not yet observed by the controller');
    const want = spec['replicas'] === undefined ? 1 : num(spec['replicas']);
    if (num(s['readyReplicas']) < want) return progressing(`${num(s['readyReplicas'])}/${want} replicas ready`);
    if (s['updateRevision'] && s['currentRevision'] !== s['updateRevision']) return progressing('rolling update in progress');
    return current(`${want} replicas ready`);
  },
  DaemonSet: (s, _spec, obj) => {
    if (!workloadObserved(s, obj)) return progressing('not yet observed by the controller');
    const want = num(s['desiredNumberScheduled']);
    if (num(s['updatedNumberScheduled']) < want) return progressing(`${num(s['updatedNumberScheduled'])}/${want} pods updated`);
    if (num(s['numberAvailable']) < want) return progressing(`${num(s['numberAvailable'])}/${want} pods available`);
    return current(`${want} pods available`);
  },
  ReplicaSet: (s, spec) => {
    const want = spec['replicas'] === undefined ? 1 : num(spec['replicas']);
    return num(s['availableReplicas']) < want ? progressing(`${num(s['availableReplicas'])}/${want} available`) : current();
  },
  Job: (s) => {
    if (condition(s, 'Failed')?.status === 'True') return failed(condition(s, 'Failed')?.message ?? 'job failed');
    if (condition(s, 'Complete')?.status === 'True') return current('complete');
    return progressing('running');
  },
  Pod: (s) => {
    if (s['phase'] === 'Succeeded') return current('succeeded');
    if (s['phase'] === 'Failed') return failed('pod failed');
    return condition(s, 'Ready')?.status === 'True' ? current() : progressing(`phase ${String(s['phase'] ?? 'Pending')}`);
  },
  PersistentVolumeClaim: (s) => (s['phase'] === 'Bound' ? current('bound') : progressing(`phase ${String(s['phase'] ?? 'Pending')}`)),
  CustomResourceDefinition: (s) => {
    if (condition(s, 'NamesAccepted')?.status === 'False') return failed(condition(s, 'NamesAccepted')?.message ?? 'names not accepted');
    return condition(s, 'Established')?.status === 'True' ? current('established') : progressing('not established yet');
  },
  Namespace: (s) => (s['phase'] === 'Terminating' ? progressing('terminating') : current()),
  Service: (s, spec) => {
    if (spec['type'] !== 'LoadBalancer') return current();
    const ingress = ((s['loadBalancer'] ?? {}) as { ingress?: unknown[] }).ingress ?? [];
    return ingress.length > 0 ? current('load balancer ready') : progressing('waiting for a load balancer address');
  },
};
