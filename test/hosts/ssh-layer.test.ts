import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, type Backoff } from '../../reconciler/backoff.ts';
import {
  connectHost,
  forEachHost,
  HostParallelism,
  HostUnreachableError,
  SudoRequiredError,
  type HostTarget,
  type HostLine,
} from '../../modules/hosts/index.ts';
import type { TestHost } from '../harness/test-hosts.ts';
import { cutLink, restoreLink, runOnHost, startTestHosts, stopTestHosts } from '../harness/test-hosts.ts';

/**
 * The SSH layer against the real test hosts (systemd-nspawn, their own addresses, sshd, users
 * root, alice with passwordless sudo, bob without sudo).
 */
let hosts: TestHost[] = [];
let one: TestHost;
let two: TestHost;

beforeAll(async () => {
  hosts = await startTestHosts({ count: 2, prefix: 'ssh', progress: (l) => process.stderr.write(`[test-hosts] ${l}\n`) });
  [one, two] = hosts as [TestHost, TestHost];
});
afterAll(async () => {
  await stopTestHosts();
});

const as = (h: TestHost, user: 'root' | 'alice' | 'bob'): HostTarget => ({ host: h.address, user, identityFiles: [h.users[user].keyPath] });
const opts = (h: TestHost) => ({ sshConfigPath: null, agent: false as const, name: h.name, hostKeys: { knownHostsFiles: [h.knownHostsPath] } });

describe('the SSH layer on real hosts', () => {
  it('connects through the ssh config of the run (Host alias → HostName, User, IdentityFile, UserKnownHostsFile)', async () => {
    const lines: HostLine[] = [];
    const s = await connectHost({ host: one.name }, { sshConfigPath: one.sshConfigPath, agent: false, onLine: (l) => lines.push(l) });
    try {
      expect(s.user).toBe('alice');
      expect(s.hostKey?.fingerprint).toBe(one.hostKeyFingerprint);
      await s.run(['sh', '-c', 'echo "$(id -un)@$(hostname)"']);
      expect(lines).toEqual([{ host: one.name, stream: 'stdout', text: `alice@${one.name}` }]);
    } finally {
      await s.close();
    }
  });

  it('alice (passwordless sudo) installs a root-owned 0600 file; a second upload runs nothing mutating', async () => {
    const s = await connectHost(as(one, 'alice'), opts(one));
    try {
      expect((await s.run(['id', '-u'], { sudo: true })).stdout.trim()).toBe('0');
      const key = Buffer.from('-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n');
      expect((await s.upload(key, '/etc/infra/pki/ca.key', { mode: '0600', owner: 'root:root', sudo: true })).action).toBe('write');
      expect((await runOnHost(one, ['stat', '-c', '%a %U:%G', '/etc/infra/pki/ca.key'])).trim()).toBe('600 root:root');
      expect(await runOnHost(one, ['cat', '/etc/infra/pki/ca.key'])).toBe(key.toString());
      const before = s.mutations;
      expect((await s.upload(key, '/etc/infra/pki/ca.key', { mode: '0600', owner: 'root:root', sudo: true })).action).toBe('skip');
      expect(s.mutations).toBe(before);
      // alice cannot read it without sudo: the file really is root's
      await expect(s.readFile('/etc/infra/pki/ca.key')).rejects.toMatchObject({ reason: 'HostCommandFailed', host: one.name });
      expect(await s.readFile('/etc/infra/pki/ca.key', { sudo: true })).toEqual(key);
    } finally {
      await s.close();
    }
  });

  it('bob (no sudo) gets SudoRequired naming host and command; commands without sudo still run', async () => {
    const s = await connectHost(as(one, 'bob'), opts(one));
    try {
      expect((await s.run(['id', '-un'])).stdout.trim()).toBe('bob');
      const err = await s.run(['systemctl', 'restart', 'containerd'], { sudo: true, mutating: true, step: 'restart containerd' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SudoRequiredError);
      const e = err as SudoRequiredError;
      expect([e.host, e.user, e.step, e.command, e.exitCode]).toEqual([one.name, 'bob', 'restart containerd', 'systemctl restart containerd', 22]);
      expect(e.message).toContain('cannot sudo without a password');
      // Refused before running: nothing was counted as changed.
      expect(s.mutations).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('reaches a host through another as ProxyJump: the target sees the jump host as its client', async () => {
    const config = join(tmpdir(), `ssh-layer-jump-${process.pid}`);
    await writeFile(
      config,
      [`Host behind`, `  HostName ${two.address}`, `  User root`, `  IdentityFile ${two.users.root.keyPath}`, `  ProxyJump alice@${one.address}`, 'Host *', `  IdentityFile ${one.users.alice.keyPath}`, `  UserKnownHostsFile ${one.knownHostsPath}`, ''].join('\n'),
    );
    const s = await connectHost({ host: 'behind' }, { sshConfigPath: config, agent: false });
    try {
      expect((await s.run(['sh', '-c', 'echo $SSH_CONNECTION'])).stdout.split(' ')[0]).toBe(one.address);
      expect(s.hostKeys.map((k) => k.fingerprint)).toEqual([one.hostKeyFingerprint, two.hostKeyFingerprint]);
    } finally {
      await s.close();
    }
  });

  it('an unreachable host fails with host and step named while the other host finishes', async () => {
    await cutLink(two);
    try {
      const sleeps: number[] = [];
      const backoff: Backoff = { ...DEFAULT_BACKOFF, sleep: async (ms) => void sleeps.push(ms) };
      const outcomes = await forEachHost(
        [one, two],
        async (h) => {
          const s = await connectHost(as(h, 'root'), { ...opts(h), readyTimeoutMs: 3000, retry: { attempts: 2, backoff } });
          try {
            return (await s.run(['hostname'])).stdout.trim();
          } finally {
            await s.close();
          }
        },
        { parallelism: new HostParallelism(2) },
      );
      expect(outcomes[0]).toMatchObject({ ok: true, value: one.name });
      const failed = outcomes[1];
      expect(failed?.ok).toBe(false);
      const err = failed && !failed.ok ? failed.error : undefined;
      expect(err).toBeInstanceOf(HostUnreachableError);
      expect([(err as HostUnreachableError).host, (err as HostUnreachableError).step]).toEqual([two.name, 'connect']);
      expect(sleeps).toHaveLength(1);
    } finally {
      await restoreLink(two);
    }
  });
});
