import { describe, expect, it } from 'vitest';
import { knownHostsText, sshConfigText } from '../harness/test-hosts-identity.ts';
import { hostLayout, slotLayout, slotOfName } from '../harness/test-hosts-layout.ts';

describe('test-host layout', () => {
  it('derives every name and address of a run from its slot', () => {
    const slot = slotLayout(7);
    expect(slot).toMatchObject({ lanNetns: 'infra-th7-lan', uplink: 'ith7', gateway: '10.213.7.1', prefixLength: 24 });
    const host = hostLayout(slot, 'node-3', 3);
    expect(host).toMatchObject({ address: '10.213.7.13', netns: 'infra-th7-h3', bridgePort: 'h3' });
    expect(host.rootDir.startsWith(`${slot.dir}/`)).toBe(true);
    // Linux interface names are at most 15 characters.
    expect(slotLayout(200).uplink.length).toBeLessThanOrEqual(15);
  });

  it("finds the slot of a leftover only in the harness's own names", () => {
    expect(['infra-th7-lan', 'infra-th7-h12', 'ith7', 'slot-7', 'slot-7.lock'].map(slotOfName)).toEqual([7, 7, 7, 7, 7]);
    expect(['infra-th7', 'infra-th7-lan2', 'ith', 'eth0', 'slot-7.lock.new-1-x', 'infra-th0-lan', 'ith201', 'cni-1234'].map(slotOfName)).toEqual(
      Array(8).fill(undefined),
    );
  });

  it('writes known_hosts and an ssh config naming every host', () => {
    const hostKey = { privatePath: '/k', publicKey: 'ssh-ed25519 AAAAkey', fingerprint: 'SHA256:x' };
    const entries = [
      { name: 'node-1', address: '10.213.7.11', hostKey },
      { name: 'node-2', address: '10.213.7.12', hostKey },
    ];
    expect(knownHostsText(entries)).toBe('10.213.7.11 ssh-ed25519 AAAAkey\n10.213.7.12 ssh-ed25519 AAAAkey\n');
    const config = sshConfigText(entries, { user: 'alice', keyPath: '/keys/alice', publicKey: '' }, '/kh');
    expect(config).toContain('Host node-2\n  HostName 10.213.7.12\n  User alice\n  IdentityFile /keys/alice\n');
    expect(config.match(/UserKnownHostsFile \/kh/g)).toHaveLength(2);
  });
});
