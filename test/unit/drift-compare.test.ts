import { describe, expect, it } from 'vitest';
import { driftOf, ignoredPointers } from '../../reconciler/drift/compare.ts';
import { canonicalJson, digestOf } from '../../reconciler/apply/object-policy.ts';
import type { KubeObject } from '../../reconciler/types.ts';

const cm = (data: Record<string, string>, meta: Record<string, unknown> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', ...meta }, data });

describe('drift comparison', () => {
  it('ignores volatile metadata and status', () => {
    const live = { ...cm({ a: '1' }, { resourceVersion: '5', managedFields: [{}], uid: 'u' }), status: { x: 1 } };
    expect(driftOf(live, cm({ a: '1' }, { resourceVersion: '7' }), [])).toEqual([]);
  });

  it('names the differing fields as JSON pointers, escaping / and ~', () => {
    expect(driftOf(cm({ a: '1', 'b/c~': 'x' }), cm({ a: '2', 'b/c~': 'y' }), [])).toEqual(['/data/a', '/data/b~1c~0']);
  });

  it('drops fields under ignored pointers', () => {
    const rules = [{ kind: 'ConfigMap', pointers: ['/data/a'] }, { kind: 'Deployment', pointers: ['/data/b'] }];
    const ignore = ignoredPointers(cm({}), rules);
    expect(ignore).toEqual(['/data/a']);
    expect(driftOf(cm({ a: '1', b: '1' }), cm({ a: '2', b: '2' }), ignore)).toEqual(['/data/b']);
  });

  it('digests do not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    expect(digestOf({ a: 1, b: 2 })).toBe(digestOf({ b: 2, a: 1 }));
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
  });

  it('keyed digests cannot be recomputed without the key (inventories must not leak Secret guesses)', () => {
    const secret = { kind: 'Secret', data: { password: 'aGVsbG8=' } };
    const k1 = Buffer.alloc(32, 1);
    expect(digestOf(secret, k1)).toBe(digestOf(secret, Buffer.alloc(32, 1)));
    expect(digestOf(secret, k1)).not.toBe(digestOf(secret));
    expect(digestOf(secret, k1)).not.toBe(digestOf(secret, Buffer.alloc(32, 2)));
  });
});
