import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { connectHost, HostAuthenticationError } from '../../modules/hosts/index.ts';
import { startSshd, type SshdFixture } from '../harness/sshd-fixture.ts';

let sshd: SshdFixture;
let knownHosts: string;
beforeAll(async () => {
  sshd = await startSshd();
  knownHosts = join(sshd.dir, 'known_hosts');
  await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
});
afterAll(async () => {
  await sshd?.stop();
});

it('uses ssh-agent when SSH_AUTH_SOCK is set (no key file at all)', async () => {
  const sock = join(sshd.dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    // ssh-agent prints its environment once it listens.
    const [first] = (await once(agent.stdout, 'data')) as [Buffer];
    expect(first.toString()).toContain(`SSH_AUTH_SOCK=${sock}`);
    const target = { host: '127.0.0.1', port: sshd.port, user: 'root', identityFiles: [join(sshd.dir, 'no-such-key')] };
    const options = { sshConfigPath: null, hostKeys: { knownHostsFiles: [knownHosts] }, retry: { attempts: 1 } };
    const saved = process.env['SSH_AUTH_SOCK'];
    process.env['SSH_AUTH_SOCK'] = sock;
    try {
      // The agent holds no key yet: refused, and the message says what was offered.
      const refused = await connectHost(target, options).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(HostAuthenticationError);
      expect((refused as Error).message).toContain('ssh-agent');
      const add = await runCommand('ssh-add', [sshd.clientKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      expect(add.code).toBe(0);
      const s = await connectHost(target, options);
      expect((await s.run(['echo', 'agent'])).stdout).toBe('agent\n');
      await s.close();
    } finally {
      if (saved === undefined) delete process.env['SSH_AUTH_SOCK'];
      else process.env['SSH_AUTH_SOCK'] = saved;
    }
  } finally {
    agent.kill('SIGTERM');
  }
});
