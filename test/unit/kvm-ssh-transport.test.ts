import { describe, expect, it } from 'vitest';
import { pinnedKnownHosts, sshTarget, sshWrapperScript, withSshCommand } from '../../modules/kvm/ssh-transport.ts';

describe('libvirt over ssh: host keys checked like the SSH layer', () => {
  it('finds the SSH endpoint of an ssh URI, and none in a local or TLS one', () => {
    expect(sshTarget('qemu+ssh://root@192.0.2.5/system')).toEqual({ host: '192.0.2.5', user: 'root' });
    expect(sshTarget('qemu+ssh://ops@kvm1.example:2222/system?socket=/run/x&proxy=netcat')).toEqual({ host: 'kvm1.example', user: 'ops', port: 2222 });
    expect(sshTarget('qemu+ssh://kvm1/system')).toEqual({ host: 'kvm1' });
    expect(sshTarget('qemu:///system')).toBeUndefined();
    expect(sshTarget('qemu+tls://kvm1/system')).toBeUndefined();
  });

  it('adds the wrapper as libvirt command= parameter, refusing a URI that names its own', () => {
    expect(withSshCommand('qemu+ssh://root@h/system', '/tmp/infra-virsh-a1/ssh')).toBe('qemu+ssh://root@h/system?command=/tmp/infra-virsh-a1/ssh');
    expect(withSshCommand('qemu+ssh://root@h/system?proxy=netcat', '/tmp/x/ssh')).toBe('qemu+ssh://root@h/system?proxy=netcat&command=/tmp/x/ssh');
    expect(() => withSshCommand('qemu+ssh://root@h/system?command=/usr/bin/ssh', '/tmp/x/ssh')).toThrow(/names its own ssh command/);
    expect(() => withSshCommand('qemu+ssh://root@h/system', "/tmp/x y'/ssh")).toThrow(/unsafe/);
  });

  it('writes the pinned keys for any name, and an ssh that checks strictly against them', () => {
    expect(pinnedKnownHosts([{ name: '[h]:2222', type: 'ssh-ed25519', publicKey: 'AAAAC3', fingerprint: 'SHA256:x' }])).toBe('* ssh-ed25519 AAAAC3\n');
    const script = sshWrapperScript({ knownHostsFiles: ['/tmp/k/pinned', '/root/.ssh/known_hosts'], configPath: '/home/o p/.ssh/config' });
    expect(script).toBe(`#!/bin/sh\nexec ssh -F '/home/o p/.ssh/config' -o StrictHostKeyChecking=yes -o 'UserKnownHostsFile=/tmp/k/pinned /root/.ssh/known_hosts' -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes "$@"\n`);
  });
});
