import { describe, expect, it } from 'vitest';
import { KEPT_CLUSTERS_ENV, clusterRetired, keptClustersValue } from '../../modules/engine/kept-clusters.ts';

describe('clusters a run keeps (what a removed member does)', () => {
  it('a cluster the up keeps is not retired; one it does not keep, or any in a destroy, is', () => {
    const up = { [KEPT_CLUSTERS_ENV]: keptClustersValue(['b', 'a']) };
    expect(up[KEPT_CLUSTERS_ENV]).toBe('["a","b"]');
    expect(clusterRetired('a', up)).toBe(false);
    expect(clusterRetired('gone', up)).toBe(true);
    expect(clusterRetired('a', { [KEPT_CLUSTERS_ENV]: keptClustersValue([]) })).toBe(true);
  });

  it('without the variable, or with one it cannot read, nothing is retired (the last etcd member stays protected)', () => {
    expect(clusterRetired('a', {})).toBe(false);
    expect(clusterRetired('a', { [KEPT_CLUSTERS_ENV]: 'not json' })).toBe(false);
    expect(clusterRetired('a', { [KEPT_CLUSTERS_ENV]: '{"a":1}' })).toBe(false);
  });
});
