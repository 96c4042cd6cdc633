import { describe, expect, it } from 'vitest';
import { chooseRuntimes, chooseSecurity, chooseSharedStorage } from '../../stacks/wizard-rules.ts';

describe('the rules behind the infra init add-on questions (docs/DECISIONS.md)', () => {
  it('untrusted workloads get gVisor, VM-grade isolation Kata, otherwise runc only', () => {
    expect(chooseRuntimes({ untrusted: true, vmIsolation: false })).toEqual({ value: ['gvisor'], rule: 'untrusted workloads → gVisor (runsc: the kernel in user space)' });
    expect(chooseRuntimes({ untrusted: true, vmIsolation: true }).value).toEqual(['kata']);
    expect(chooseRuntimes({ untrusted: false, vmIsolation: true })).toMatchObject({ value: ['kata'], rule: expect.stringMatching(/VM-grade isolation → Kata/) });
    expect(chooseRuntimes({ untrusted: false, vmIsolation: false })).toEqual({ value: [], rule: 'no untrusted workloads → containerd with runc only' });
  });

  it('L7 network policies mean strict security', () => {
    expect(chooseSecurity(true)).toMatchObject({ value: 'strict', rule: expect.stringMatching(/^L7 network policies .*→ strict security, which Cilium enforces$/) });
    expect(chooseSecurity(false).value).toBe('standard');
  });

  it('shared storage is Rook-Ceph with 3 or more disked hosts; with fewer, local-path and the rule says how many', () => {
    expect(chooseSharedStorage({ shared: true, hostsWithDisks: 3 })).toEqual({ value: 'rook-ceph', rule: 'shared storage with 3 hosts with spare disks → Rook-Ceph (replicated block/file storage)' });
    expect(chooseSharedStorage({ shared: true, hostsWithDisks: 5 }).value).toBe('rook-ceph');
    expect(chooseSharedStorage({ shared: true, hostsWithDisks: 2 })).toEqual({
      value: 'local-path',
      rule: 'shared storage wanted, but only 2 hosts have spare disks and Rook-Ceph needs 3 to replicate → local persistent volumes (node-bound)',
    });
    expect(chooseSharedStorage({ shared: true, hostsWithDisks: 1 }).rule).toContain('only 1 host has spare disks');
    expect(chooseSharedStorage({ shared: true, hostsWithDisks: 0 }).rule).toContain('no host has spare disks');
    expect(chooseSharedStorage({ shared: false, hostsWithDisks: 4 })).toMatchObject({ value: 'local-path', rule: expect.stringMatching(/^no shared storage wanted/) });
  });
});
