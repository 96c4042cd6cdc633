import { describe, expect, it } from 'vitest';
import { capacityOf, freeOf } from '../../clusters/health/capacity.ts';
import { QuantityFormatError } from '../../clusters/health/health-errors.ts';
import { bytes, cpuMilli, parseQuantity } from '../../clusters/health/quantity.ts';

const ready = [{ type: 'Ready', status: 'True' }];

describe('quantities', () => {
  it('parses CPU, memory and exponent forms', () => {
    expect(cpuMilli('250m')).toBe(250);
    expect(cpuMilli('1.5')).toBe(1500);
    expect(cpuMilli('100u')).toBe(1);
    expect(bytes('128Mi')).toBe(128 * 2 ** 20);
    expect(bytes('1G')).toBe(1e9);
    expect(bytes('2e3')).toBe(2000);
    expect(parseQuantity('110')).toBe(110);
  });
  it('rejects what is not a quantity', () => {
    expect(() => parseQuantity('12 cores')).toThrow(QuantityFormatError);
    expect(() => parseQuantity('Mi')).toThrow(QuantityFormatError);
  });
});

describe('capacityOf', () => {
  it('sums Ready schedulable nodes and the requests of live pods bound to them', () => {
    const nodes = [
      { metadata: { name: 'n1' }, status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: ready } },
      { metadata: { name: 'n2' }, status: { allocatable: { cpu: '2', memory: '4Gi', pods: '110' }, conditions: ready } },
      { metadata: { name: 'cordoned' }, spec: { unschedulable: true }, status: { allocatable: { cpu: '64', memory: '1Ti', pods: '110' }, conditions: ready } },
      { metadata: { name: 'down' }, status: { allocatable: { cpu: '64', memory: '1Ti', pods: '110' }, conditions: [{ type: 'Ready', status: 'Unknown' }] } },
    ];
    const pod = (node: string | undefined, phase: string, cpu: string, memory: string, extra: object = {}) => ({
      spec: { ...(node ? { nodeName: node } : {}), containers: [{ resources: { requests: { cpu, memory } } }], ...extra },
      status: { phase },
    });
    const pods = [
      pod('n1', 'Running', '500m', '1Gi'),
      pod('n2', 'Pending', '250m', '256Mi', { initContainers: [{ resources: { requests: { cpu: '1', memory: '64Mi' } } }] }),
      pod('n1', 'Succeeded', '3', '1Gi'),
      pod(undefined, 'Pending', '3', '1Gi'),
      pod('down', 'Running', '3', '1Gi'),
      pod('n1', 'Running', '100m', '100Mi', { overhead: { cpu: '10m', memory: '1Mi' } }),
    ];
    const c = capacityOf('x', nodes, pods);
    expect(c.allocatable).toEqual({ cpuMilli: 6000, memoryBytes: 12 * 2 ** 30, pods: 220 });
    expect(c.requested).toEqual({ cpuMilli: 500 + 1000 + 110, memoryBytes: 2 ** 30 + 256 * 2 ** 20 + 101 * 2 ** 20, pods: 3 });
    expect(freeOf(c).cpuMilli).toBe(6000 - 1610);
  });
});
