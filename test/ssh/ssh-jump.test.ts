import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHost, HostUnreachableError } from '../../modules/hosts/index.ts';
import { startSshd, type SshdFixture } from '../harness/sshd-fixture.ts';

let jump1: SshdFixture;
let jump2: SshdFixture;
let target: SshdFixture;
let config: string;

beforeAll(async () => {
  jump1 = await startSshd({ logLevel: 'DEBUG1' });
  jump2 = await startSshd({ clientKeyPath: jump1.clientKeyPath, logLevel: 'DEBUG1' });
  target = await startSshd({ clientKeyPath: jump1.clientKeyPath });
  const knownHosts = join(jump1.dir, 'known_hosts');
  await writeFile(knownHosts, [jump1, jump2, target].map((s) => s.knownHostsLine).join('\n') + '\n');
  config = join(jump1.dir, 'ssh_config');
  // Written as a user would: aliases, a chain, settings shared through `Host *` at the end.
  await writeFile(
    config,
    [
      'Host node',
      `  HostName 127.0.0.1`,
      `  Port ${target.port}`,
      '  ProxyJump bastion,inner',
      'Host bastion',
      '  HostName 127.0.0.1',
      `  Port ${jump1.port}`,
      'Host inner',
      '  HostName 127.0.0.1',
      `  Port ${jump2.port}`,
      'Host *',
      '  User root',
      `  IdentityFile ${jump1.clientKeyPath}`,
      `  UserKnownHostsFile ${knownHosts}`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await Promise.all([jump1?.stop(), jump2?.stop(), target?.stop()]);
});

describe('ProxyJump', () => {
  it('reaches a host through a chain of two jump hosts from ~/.ssh/config, checking every host key', async () => {
    const s = await connectHost({ host: 'node' }, { sshConfigPath: config, agent: false });
    try {
      expect((await s.run(['echo', 'via jumps'])).stdout).toBe('via jumps\n');
      expect(s.hostKeys.map((k) => k.name)).toEqual([jump1, jump2, target].map((f) => `[127.0.0.1]:${f.port}`));
      // The first jump opened a channel to the second, the second to the target.
      await jump1.waitForLog(new RegExp(`direct_tcpip: originator .* target 127\\.0\\.0\\.1 port ${jump2.port}\\b`));
      await jump2.waitForLog(new RegExp(`direct_tcpip: originator .* target 127\\.0\\.0\\.1 port ${target.port}\\b`));
    } finally {
      await s.close();
    }
  });

  it('a jump host that cannot forward names the jump host and the target', async () => {
    const gone = await startSshd();
    const deadPort = gone.port;
    await gone.stop();
    const cfg = join(jump1.dir, 'ssh_config_dead');
    await writeFile(cfg, [`Host far`, `  HostName 127.0.0.1`, `  Port ${deadPort}`, `  ProxyJump root@127.0.0.1:${jump1.port}`, 'Host *', `  IdentityFile ${jump1.clientKeyPath}`, `  UserKnownHostsFile ${join(jump1.dir, 'known_hosts')}`, ''].join('\n'));
    const err = await connectHost({ host: 'far', user: 'root' }, { sshConfigPath: cfg, agent: false, retry: { attempts: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect((err as Error).message).toContain(`jump host 127.0.0.1 cannot open 127.0.0.1:${deadPort}`);
    expect((err as HostUnreachableError).host).toBe('far');
  });
});
