import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runInfra } from '../harness/cli.ts';
import { runCommand } from '../../clusters/host/command.ts';
import { startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';
import type { TestUserName } from '../harness/test-hosts-identity.ts';

/**
 * Errors of the SSH layer raised inside the engine's providers reach `infra up` with their own
 * exit code and one line naming host and step (not the engine's 12). One host, no cluster made:
 * each case fails at its first contact.
 */

let host: TestHost;
let dir: string;

beforeAll(async () => {
  [host] = (await startTestHosts({ count: 1, prefix: 'ux' })) as [TestHost];
  dir = await mkdtemp(join(tmpdir(), 'infra-up-exit-'));
}, 300_000);

afterAll(async () => {
  await stopTestHosts();
});

/** A stack of one control-plane host as `user`, in its own home (its own state), optionally with a given host key. */
async function fixture(name: string, user: TestUserName, hostKey?: string): Promise<{ stackFile: string; env: NodeJS.ProcessEnv }> {
  const sshConfig = join(dir, `${name}.ssh_config`);
  await writeFile(sshConfig, `Host ${host.address}\n  User ${user}\n  IdentityFile ${host.users[user].keyPath}\n  IdentitiesOnly yes\n`, { mode: 0o600 });
  const knownHosts = join(dir, `${name}.known_hosts`);
  await writeFile(knownHosts, '', { mode: 0o600 });
  const stackFile = join(dir, `${name}.yaml`);
  await writeFile(
    stackFile,
    stringify({
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      metadata: { name },
      sites: [{ name: 'lab', kind: 'ssh' }],
      hosts: [{ name: host.name, site: 'lab', address: host.address, user, port: host.port, memoryGiB: 4, cpus: 2, ...(hostKey ? { hostKey } : {}) }],
      clusters: [{ name, site: 'lab', distribution: 'kubernetes', controlPlanes: 1, hosts: [host.name], cni: 'flannel', csi: 'none' }],
    }),
  );
  return { stackFile, env: { ...process.env, INFRA_HOME: join(dir, name, 'home'), INFRA_OFFLINE: '1', INFRA_SSH_CONFIG: sshConfig, INFRA_SSH_KNOWN_HOSTS: knownHosts, INFRA_NO_COLOR: '1' } };
}

describe('infra up on SSH hosts exits with the code of the host error', () => {
  it('a user without sudo: 22, naming host, step and command', async () => {
    const fx = await fixture('nosudo', 'bob');
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(22);
    const line = up.stderr.split('\n').find((l) => l.startsWith('error: ')) ?? '';
    expect(line).toContain(`host ${host.name}`);
    expect(line).toMatch(/bob cannot sudo without a password .*`/);
  }, 600_000);

  it('a host key other than the stack gives: 21, with both fingerprints', async () => {
    // Some other ed25519 key stands for the one the stack expects.
    const other = join(dir, 'other-host-key');
    const gen = await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    expect(gen.code, gen.stderr).toBe(0);
    const fx = await fixture('wrongkey', 'alice', (await readFile(`${other}.pub`, 'utf8')).split(' ').slice(0, 2).join(' '));
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(21);
    const line = up.stderr.split('\n').find((l) => l.startsWith('error: ')) ?? '';
    expect(line).toContain(host.name);
    expect(line).toContain(host.hostKeyFingerprint);
    expect(line).toMatch(/SHA256:\S+.*SHA256:\S+/);
  }, 600_000);
});
