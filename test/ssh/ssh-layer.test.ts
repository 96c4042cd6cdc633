import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { DEFAULT_BACKOFF, type Backoff } from '../../reconciler/backoff.ts';
import {
  connectHost,
  HostAuthenticationError,
  HostCommandError,
  HostKeyMismatchError,
  HostKeyUnknownError,
  HostUnreachableError,
  UploadChecksumError,
  type HostKeyPin,
  type HostLine,
} from '../../modules/hosts/index.ts';
import { startSshd, type SshdFixture } from '../harness/sshd-fixture.ts';

async function fingerprintOfFile(pubPath: string): Promise<string> {
  const r = await runCommand('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubPath]);
  const fp = r.stdout.split(/\s+/)[1];
  if (!fp) throw new Error(`ssh-keygen -l: ${r.stderr}`);
  return fp;
}

let sshd: SshdFixture;
let knownHosts: string;
let hostFingerprint: string;

beforeAll(async () => {
  sshd = await startSshd();
  knownHosts = join(sshd.dir, 'known_hosts');
  await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
  hostFingerprint = await fingerprintOfFile(join(sshd.dir, 'host_key.pub'));
});
afterAll(async () => {
  await sshd?.stop();
});

const target = () => ({ host: '127.0.0.1', port: sshd.port, user: 'root', identityFiles: [sshd.clientKeyPath] });
const base = () => ({ sshConfigPath: null, agent: false as const, name: 'h1' });

describe('host keys', () => {
  it('connects when known_hosts holds the key; runs argv without a shell parsing it', async () => {
    const lines: HostLine[] = [];
    const s = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [knownHosts] }, onLine: (l) => lines.push(l) });
    try {
      expect(s.hostKey?.fingerprint).toBe(hostFingerprint);
      const r = await s.run(['printf', '%s\\n', '$(echo injected)', "it's", 'a b;c']);
      expect(r.stdout).toBe("$(echo injected)\nit's\na b;c\n");
      expect(lines.map((l) => `${l.host} ${l.stream} ${l.text}`)).toEqual(['h1 stdout $(echo injected)', "h1 stdout it's", 'h1 stdout a b;c']);
    } finally {
      await s.close();
    }
  });

  it('accepts a hashed known_hosts entry (ssh-keygen -H)', async () => {
    const hashed = join(sshd.dir, 'known_hosts_hashed');
    await writeFile(hashed, `${sshd.knownHostsLine}\n`);
    const r = await runCommand('ssh-keygen', ['-H', '-f', hashed]);
    expect(r.code).toBe(0);
    expect(await readFile(hashed, 'utf8')).toMatch(/^\|1\|/);
    const s = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [hashed] } });
    await s.close();
  });

  it('refuses a changed key naming both fingerprints, from known_hosts and from a pin', async () => {
    const other = join(sshd.dir, 'other_key');
    await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const otherPub = (await readFile(`${other}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const otherFingerprint = await fingerprintOfFile(`${other}.pub`);
    const wrong = join(sshd.dir, 'known_hosts_wrong');
    await writeFile(wrong, `[127.0.0.1]:${sshd.port} ${otherPub}\n`);
    const err = await connectHost(target(), { ...base(), retry: { attempts: 3 }, hostKeys: { knownHostsFiles: [wrong], pinOnFirstUse: true } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    const mismatch = err as HostKeyMismatchError;
    expect(mismatch.expectedFingerprint).toBe(otherFingerprint);
    expect(mismatch.actualFingerprint).toBe(hostFingerprint);
    expect(mismatch.message).toContain(otherFingerprint);
    expect(mismatch.message).toContain(hostFingerprint);
    expect(mismatch.exitCode).toBe(21);

    const [type = '', key = ''] = otherPub.split(' ');
    const pin: HostKeyPin = { name: `[127.0.0.1]:${sshd.port}`, type, publicKey: key, fingerprint: otherFingerprint };
    const pinned = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [knownHosts], pins: [pin] } }).catch((e: unknown) => e);
    expect(pinned).toBeInstanceOf(HostKeyMismatchError);
    expect((pinned as Error).message).toMatch(new RegExp(`${otherFingerprint.replace(/[+/]/g, '\\$&')}.*${hostFingerprint.replace(/[+/]/g, '\\$&')}`));
  });

  it('an unknown key is refused with how to add it, or pinned on first use and then required', async () => {
    const empty = join(sshd.dir, 'known_hosts_empty');
    await writeFile(empty, '');
    const err = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [empty] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyUnknownError);
    expect((err as HostKeyUnknownError).oneLine()).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${empty}`);
    expect((err as HostKeyUnknownError).fingerprint).toBe(hostFingerprint);

    const pins: HostKeyPin[] = [];
    const first = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [empty], pinOnFirstUse: true, onPin: (p) => pins.push(p) } });
    await first.close();
    expect(pins).toEqual([{ name: `[127.0.0.1]:${sshd.port}`, type: 'ssh-ed25519', publicKey: sshd.hostPublicKey.split(' ')[1], fingerprint: hostFingerprint }]);
    const again: HostKeyPin[] = [];
    const second = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [empty], pins, pinOnFirstUse: true, onPin: (p) => again.push(p) } });
    await second.close();
    expect(again).toEqual([]);
  });
});

describe('connection failures', () => {
  it('an unreachable host is retried with backoff, then named with its step', async () => {
    const dead = await startSshd();
    const port = dead.port;
    await dead.stop();
    const sleeps: number[] = [];
    const backoff: Backoff = { ...DEFAULT_BACKOFF, random: () => 1, sleep: async (ms) => void sleeps.push(ms) };
    const err = await connectHost({ ...target(), port }, { ...base(), name: 'gone', retry: { attempts: 3, backoff } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect((err as HostUnreachableError).host).toBe('gone');
    expect((err as HostUnreachableError).step).toBe('connect');
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(sleeps).toEqual([500, 1000]);
  });

  it('a refused credential is not retried', async () => {
    const sleeps: number[] = [];
    const backoff: Backoff = { ...DEFAULT_BACKOFF, sleep: async (ms) => void sleeps.push(ms) };
    const stranger = join(sshd.dir, 'stranger_key');
    await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const err = await connectHost({ ...target(), identityFiles: [stranger] }, { ...base(), hostKeys: { knownHostsFiles: [knownHosts] }, retry: { backoff } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostAuthenticationError);
    expect((err as Error).message).toContain(stranger);
    expect(sleeps).toEqual([]);
  });
});

describe('commands and uploads', () => {
  it('a failed command carries host, step, command, exit code and the last stderr lines', async () => {
    const s = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [knownHosts] } });
    try {
      const err = await s.run(['sh', '-c', 'echo first >&2; echo oops >&2; exit 3'], { step: 'probe' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostCommandError);
      const e = err as HostCommandError;
      expect([e.host, e.step, e.code, e.stderrTail]).toEqual(['h1', 'probe', 3, ['first', 'oops']]);
      expect(e.command).toBe("sh -c 'echo first >&2; echo oops >&2; exit 3'");
      expect(e.exitCode).toBe(22);
      expect((await s.run(['test', '-e', '/nonexistent'], { okExitCodes: [0, 1] })).code).toBe(1);
      // root needs no sudo: the flag is a no-op, no probe
      expect((await s.run(['id', '-u'], { sudo: true })).stdout.trim()).toBe('0');
    } finally {
      await s.close();
    }
  });

  it('a connection lost under a command is "unreachable" naming host and step; the session says so after', async () => {
    const s = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [knownHosts] } });
    // The parent of the command is the sshd process serving this connection: killing it drops the link.
    const err = await s.run(['sh', '-c', 'kill -9 $PPID; sleep 5'], { step: 'start kubelet' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect([(err as HostUnreachableError).host, (err as HostUnreachableError).step]).toEqual(['h1', 'start kubelet']);
    const next = await s.run(['true'], { step: 'next' }).catch((e: unknown) => e);
    expect(next).toBeInstanceOf(HostUnreachableError);
    expect((next as Error).message).toContain('the connection was lost');
    await s.close();
  });

  it('many commands at once on one session queue below sshd MaxSessions instead of failing', async () => {
    const s = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [knownHosts] } });
    try {
      const outs = await Promise.all(Array.from({ length: 24 }, (_, i) => s.run(['sh', '-c', `sleep 0.3; echo ${i}`])));
      expect(outs.map((o) => o.stdout.trim())).toEqual(Array.from({ length: 24 }, (_, i) => String(i)));
    } finally {
      await s.close();
    }
  });

  it('stops a running command when the signal aborts', async () => {
    const s = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [knownHosts] } });
    try {
      const ac = new AbortController();
      const running = s.run(['sleep', '30'], { signal: ac.signal });
      ac.abort();
      await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    } finally {
      await s.close();
    }
  });

  it('uploads atomically, verified by checksum on the host, and skips what is already there', async () => {
    const s = await connectHost(target(), { ...base(), hostKeys: { knownHostsFiles: [knownHosts] } });
    try {
      const remote = join(sshd.dir, 'remote', 'etc', 'secret.key');
      const content = Buffer.from('top secret\n');
      const first = await s.upload(content, remote, { mode: '0600' });
      expect(first.action).toBe('write');
      expect(await s.readFile(remote)).toEqual(content);
      expect(await s.fileSha256(remote)).toBe(first.sha256);
      expect((await s.run(['stat', '-c', '%a', remote])).stdout.trim()).toBe('600');
      expect(s.mutations).toBe(1);

      const again = await s.upload(content, remote, { mode: '0600' });
      expect(again.action).toBe('skip');
      expect(s.mutations).toBe(1);

      expect((await s.upload(content, remote, { mode: '0640' })).action).toBe('attributes');
      expect((await s.run(['stat', '-c', '%a', remote])).stdout.trim()).toBe('640');

      const local = join(sshd.dir, 'local-binary');
      await writeFile(local, Buffer.alloc(3 * 1024 * 1024, 7));
      expect((await s.upload(local, remote, { mode: '0755' })).action).toBe('write');
      expect((await s.fileSha256(remote))).toBe((await runCommand('sha256sum', [local])).stdout.split(' ')[0]);
      expect(s.mutations).toBe(3);

      // The host checks the bytes it got: a wrong checksum replaces nothing and leaves no temp file.
      const before = await s.fileSha256(remote);
      const bad = await s.upload(Buffer.from('other'), remote, { sha256: '0'.repeat(64) }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(UploadChecksumError);
      expect((bad as Error).message).toContain(`the host computed ${(await runCommand('sh', ['-c', 'printf other | sha256sum'])).stdout.split(' ')[0]}`);
      expect(await s.fileSha256(remote)).toBe(before);
      expect((await s.run(['ls', '-A', join(sshd.dir, 'remote', 'etc')])).stdout.trim()).toBe('secret.key');
      expect(await s.fileSha256(join(sshd.dir, 'missing'))).toBeUndefined();
    } finally {
      await s.close();
    }
  });
});
