import { describe, expect, it } from 'vitest';
import { heldBy } from '../../reconciler/sync/prune.ts';

describe('what holds a deleted object', () => {
  it('names a namespace deletion failure before the generic "content remaining"', () => {
    const ns = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'x', deletionTimestamp: '2026-01-01T00:00:00Z' },
      spec: { finalizers: ['kubernetes'] },
      status: {
        phase: 'Terminating',
        conditions: [
          { type: 'NamespaceContentRemaining', status: 'True', message: 'Some resources are remaining' },
          { type: 'NamespaceDeletionDiscoveryFailure', status: 'True', message: 'Discovery failed for some groups: stuck.example/v1' },
          { type: 'NamespaceDeletionContentFailure', status: 'False', message: 'All content successfully deleted' },
        ],
      },
    };
    expect(heldBy(ns)).toBe('NamespaceDeletionDiscoveryFailure: Discovery failed for some groups: stuck.example/v1');
  });

  it('falls back to finalizers', () => {
    expect(heldBy({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', deletionTimestamp: 't', finalizers: ['example.dev/hold'] } })).toBe('waiting for finalizers example.dev/hold');
  });
});
