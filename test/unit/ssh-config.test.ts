import { describe, expect, it } from 'vitest';
import { parseJumpSpec, resolveTarget } from '../../modules/hosts/ssh-config.ts';

const ctx = (configText: string) => ({ configText, home: '/home/me', localUser: 'me' });

const CONFIG = `
Host web-* !web-legacy
  ProxyJump bastion
  IdentityFile ~/.ssh/web
  IdentityFile %d/.ssh/web-%r

Host bastion
  HostName 203.0.113.9
  User jumper
  Port 2222
  ProxyJump edge-gw

Host edge-gw
  HostName gw.example.net
  HostKeyAlias gw

Host db
  HostName 10.0.0.5
  ProxyJump ops@bastion2:2200,ssh://root@[fd00::1]:22

Host *
  User admin
  Port 22
  UserKnownHostsFile ~/.ssh/kh-a ~/.ssh/kh-b
`;

describe('resolveTarget (~/.ssh/config)', () => {
  it('first value wins per Host pattern, tokens and ~ expand, a negated pattern excludes', () => {
    const t = resolveTarget({ host: 'web-1' }, ctx(CONFIG));
    expect(t).toMatchObject({
      alias: 'web-1',
      hostName: 'web-1',
      user: 'admin',
      port: 22,
      identityFiles: ['/home/me/.ssh/web', '/home/me/.ssh/web-admin'],
      identityFilesExplicit: true,
      knownHostsFiles: ['/home/me/.ssh/kh-a', '/home/me/.ssh/kh-b'],
      hostKeyName: 'web-1',
    });
    const legacy = resolveTarget({ host: 'web-legacy' }, ctx(CONFIG));
    expect(legacy.jumps).toEqual([]);
    expect(legacy.identityFiles).toEqual(['/home/me/.ssh/id_ed25519', '/home/me/.ssh/id_ecdsa', '/home/me/.ssh/id_rsa']);
    expect(legacy.identityFilesExplicit).toBe(false);
  });

  it("a jump host's own ProxyJump comes first: the chain is edge-gw → bastion → web-1", () => {
    const t = resolveTarget({ host: 'web-1' }, ctx(CONFIG));
    expect(t.jumps.map((j) => [j.alias, j.hostName, j.port, j.user, j.hostKeyName])).toEqual([
      ['edge-gw', 'gw.example.net', 22, 'admin', 'gw'],
      ['bastion', '203.0.113.9', 2222, 'jumper', '[203.0.113.9]:2222'],
    ]);
  });

  it('a comma-separated chain with user@host:port and ssh:// URIs, each hop resolved through the config', () => {
    const t = resolveTarget({ host: 'db' }, ctx(CONFIG));
    expect(t.jumps.map((j) => `${j.user}@${j.hostName}:${j.port}`)).toEqual(['ops@bastion2:2200', 'root@fd00::1:22']);
    expect(t.hostName).toBe('10.0.0.5');
  });

  it('the caller overrides user, port and keys like ssh -l -p -i; no config means defaults', () => {
    const t = resolveTarget({ host: 'bastion', user: 'x', port: 2022, identityFiles: ['/k'] }, ctx(CONFIG));
    expect([t.user, t.port, t.identityFiles, t.hostKeyName]).toEqual(['x', 2022, ['/k'], '[203.0.113.9]:2022']);
    const bare = resolveTarget({ host: '192.0.2.1' }, ctx(''));
    expect([bare.user, bare.port, bare.jumps, bare.knownHostsFiles]).toEqual(['me', 22, [], ['/home/me/.ssh/known_hosts', '/home/me/.ssh/known_hosts2']]);
  });

  it('refuses a ProxyJump loop and a bad hop', () => {
    expect(() => resolveTarget({ host: 'a' }, ctx('Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n'))).toThrow(/ProxyJump chain longer/);
    expect(() => parseJumpSpec('user@')).toThrow(/invalid ProxyJump hop/);
    expect(() => resolveTarget({ host: 'p' }, ctx('Host p\n  Port 99999\n'))).toThrow(/invalid port "99999"/);
    expect(resolveTarget({ host: 'n' }, ctx('Host n\n  ProxyJump none\n')).jumps).toEqual([]);
  });
});
