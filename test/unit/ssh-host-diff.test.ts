import { describe, expect, it } from 'vitest';
import { diff, type SshHostOutputs } from '../../modules/hosts/host-provider.ts';

const pinned: SshHostOutputs = { name: 'vm-a', address: '10.0.0.10', user: 'ops', port: 22, pins: [], reachable: true, machine: '/pool/vm-a-aaaa.qcow2' };

describe('an SSH host as the engine diffs it', () => {
  it('the same machine at the same address: no change, the pinned key stays', () => {
    expect(diff(pinned, { ...pinned })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
  });

  it('another machine infra made (a VM on a new disk) at the same address: replaced, so its new key is pinned', () => {
    expect(diff(pinned, { ...pinned, machine: '/pool/vm-a-bbbb.qcow2' }).replaces).toEqual(['machine']);
  });

  it('a state from before machines were recorded takes one on as an update, trusting no new key', () => {
    const { machine: _, ...old } = pinned;
    expect(diff(old as SshHostOutputs, pinned)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
  });

  it('another address or port is another machine too', () => {
    expect(diff(pinned, { ...pinned, address: '10.0.0.11', port: 2222 }).replaces).toEqual(['address', 'port']);
  });
});
