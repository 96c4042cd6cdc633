import { describe, expect, it } from 'vitest';
import { compareHooks, hookOf, withoutSkippedHooks } from '../../reconciler/render/helm-hooks.ts';
import type { KubeObject } from '../../reconciler/types.ts';

const obj = (name: string, annotations?: Record<string, string>, kind = 'Job'): KubeObject => ({ apiVersion: 'batch/v1', kind, metadata: { name, ...(annotations ? { annotations } : {}) } });

describe('helm hooks', () => {
  it('maps install and upgrade hooks to a phase, with before-hook-creation by default', () => {
    expect(hookOf(obj('a'))).toBeUndefined();
    expect(hookOf(obj('a', { 'helm.sh/hook': 'pre-install, pre-upgrade' }))).toEqual({ phase: 'pre', onInstall: true, onUpgrade: true, weight: 0, deletePolicies: ['before-hook-creation'] });
    expect(hookOf(obj('a', { 'helm.sh/hook': 'post-upgrade', 'helm.sh/hook-weight': '-3', 'helm.sh/hook-delete-policy': 'hook-succeeded,hook-failed' }))).toEqual({
      phase: 'post',
      onInstall: false,
      onUpgrade: true,
      weight: -3,
      deletePolicies: ['hook-succeeded', 'hook-failed'],
    });
  });

  it('never applies test, delete or rollback hooks', () => {
    for (const h of ['test', 'test-success', 'pre-delete', 'post-rollback']) expect(hookOf(obj('a', { 'helm.sh/hook': h }))).toBe('skip');
    const kept = withoutSkippedHooks([obj('t', { 'helm.sh/hook': 'test' }), obj('j', { 'helm.sh/hook': 'pre-install' }), obj('plain')].map((object) => ({ object, origin: { file: 'f' } })));
    expect(kept.map((m) => m.object.metadata.name)).toEqual(['j', 'plain']);
  });

  it('orders by weight, then kind, then name', () => {
    const hooks = [obj('b', { 'helm.sh/hook': 'pre-install' }), obj('a', { 'helm.sh/hook': 'pre-install' }), obj('z', { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '-1' }), obj('c', { 'helm.sh/hook': 'pre-install' }, 'ConfigMap')];
    expect(hooks.sort(compareHooks).map((h) => h.metadata.name)).toEqual(['z', 'c', 'a', 'b']);
  });
});
