import { describe, expect, it } from 'vitest';
import { healthOf } from '../../reconciler/health/kstatus.ts';
import type { KubeObject } from '../../reconciler/types.ts';

const obj = (kind: string, spec: object, status: object, generation = 1): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name: 'x', generation }, spec, status });

describe('object health (kstatus rules)', () => {
  it('Deployment: current only when the rollout is complete and observed', () => {
    expect(healthOf(obj('Deployment', { replicas: 2 }, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).status).toBe('Current');
    expect(healthOf(obj('Deployment', { replicas: 2 }, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1 })).status).toBe('InProgress');
    expect(healthOf(obj('Deployment', { replicas: 2 }, { observedGeneration: 0, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }, 2)).status).toBe('InProgress');
    expect(healthOf(obj('Deployment', { replicas: 2 }, { observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2 })).message).toMatch(/old replicas/);
    expect(healthOf(obj('Deployment', {}, {})).status).toBe('InProgress');
    const stalled = { observedGeneration: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] };
    expect(healthOf(obj('Deployment', { replicas: 1 }, stalled)).status).toBe('Failed');
  });

  it('StatefulSet and DaemonSet', () => {
    expect(healthOf(obj('StatefulSet', { replicas: 2 }, { observedGeneration: 1, readyReplicas: 2, currentRevision: 'a', updateRevision: 'a' })).status).toBe('Current');
    expect(healthOf(obj('StatefulSet', { replicas: 2 }, { observedGeneration: 1, readyReplicas: 2, currentRevision: 'a', updateRevision: 'b' })).status).toBe('InProgress');
    expect(healthOf(obj('DaemonSet', {}, { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 })).status).toBe('InProgress');
  });

  it('Job, PVC, CRD, Service with a load balancer', () => {
    expect(healthOf(obj('Job', {}, { conditions: [{ type: 'Complete', status: 'True' }] })).status).toBe('Current');
    expect(healthOf(obj('Job', {}, { conditions: [{ type: 'Failed', status: 'True' }] })).status).toBe('Failed');
    expect(healthOf(obj('PersistentVolumeClaim', {}, { phase: 'Pending' })).status).toBe('InProgress');
    expect(healthOf(obj('PersistentVolumeClaim', {}, { phase: 'Bound' })).status).toBe('Current');
    expect(healthOf(obj('CustomResourceDefinition', {}, { conditions: [{ type: 'Established', status: 'True' }] })).status).toBe('Current');
    expect(healthOf(obj('Service', { type: 'LoadBalancer' }, {})).status).toBe('InProgress');
    expect(healthOf(obj('Service', { type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } })).status).toBe('Current');
    expect(healthOf(obj('Service', { type: 'ClusterIP' }, {})).status).toBe('Current');
  });

  it('any resource with a Ready condition', () => {
    expect(healthOf(obj('Widget', {}, { conditions: [{ type: 'Ready', status: 'False', message: 'warming up' }] }))).toEqual({ status: 'InProgress', message: 'warming up' });
    expect(healthOf(obj('Widget', {}, { conditions: [{ type: 'Ready', status: 'True' }] })).status).toBe('Current');
    expect(healthOf(obj('ConfigMap', {}, {})).status).toBe('Current');
  });
});
