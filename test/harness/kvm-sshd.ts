import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fingerprintOf } from '../../modules/hosts/known-hosts.ts';
import type { KvmSlotLayout } from './kvm-layout.ts';
import { must } from './test-hosts-exec.ts';
import { TestHostsError } from './test-hosts-errors.ts';

/**
 * A libvirt host reached over SSH: this machine's sshd, run inside the KVM slot's network
 * namespace on its inner address (10.215.<slot>.2:22), root login with one key only. A
 * `qemu+ssh://root@<address>/system?socket=<slot socket>&proxy=netcat` URI then reaches the
 * slot's private libvirtd through it (ssh, then `nc -U` on the "remote" side). `stopKvm()` kills
 * it with the rest of the namespace.
 */
export interface KvmSshd {
  readonly address: string;
  readonly uri: string;
  /** The fingerprint of the host key sshd presents now. */
  fingerprint(): Promise<string>;
  /** A new host key (the host "reinstalled"): sshd restarts with it. */
  newHostKey(): Promise<void>;
  /** Back to the first host key. */
  firstHostKey(): Promise<void>;
}

export async function startKvmSshd(run: KvmSlotLayout, authorizedKeyFile: string): Promise<KvmSshd> {
  const dir = join(run.dir, 'sshd');
  await mkdir(dir, { recursive: true });
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const where = `sshd of kvm slot ${run.slot}`;
  for (const k of ['first', 'second']) await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `libvirt-host-${k}`, '-f', join(dir, k)], where);
  await writeFile(join(dir, 'authorized_keys'), await readFile(authorizedKeyFile, 'utf8'), { mode: 0o600 });
  let pid: number | undefined;
  let current = 'first';
  const start = async (key: string): Promise<void> => {
    await writeFile(join(dir, 'sshd_config'), [
      `ListenAddress ${run.innerAddress}:22`,
      `HostKey ${join(dir, key)}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${join(dir, 'sshd.pid')}`,
      '',
    ].join('\n'));
    const log = openSync(join(dir, 'sshd.log'), 'a');
    try {
      const child = spawn('ip', ['netns', 'exec', run.netns, '/usr/sbin/sshd', '-D', '-e', '-f', join(dir, 'sshd_config')], { detached: true, stdio: ['ignore', log, log] });
      child.unref();
      pid = child.pid;
    } finally {
      closeSync(log);
    }
    current = key;
    await untilBanner(run.innerAddress, join(dir, 'sshd.log'));
  };
  const restart = async (key: string): Promise<void> => {
    if (pid) process.kill(pid, 'SIGTERM');
    await untilClosed(run.innerAddress);
    await start(key);
  };
  await start('first');
  return {
    address: run.innerAddress,
    uri: `qemu+ssh://root@${run.innerAddress}/system?socket=${run.socket}&proxy=netcat`,
    fingerprint: async () => fingerprintOf(Buffer.from((await readFile(join(dir, `${current}.pub`), 'utf8')).split(' ')[1] ?? '', 'base64')),
    newHostKey: () => restart('second'),
    firstHostKey: () => restart('first'),
  };
}

function answers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port: 22, timeout: 2000 });
    s.once('data', (b: Buffer) => {
      s.destroy();
      resolve(b.toString('latin1').startsWith('SSH-'));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function untilBanner(address: string, log: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await answers(address))) {
    if (Date.now() > deadline) throw new TestHostsError(`sshd on ${address}:22 did not answer in 20 s: ${await readFile(log, 'utf8').catch(() => '')}`, { where: 'kvm sshd', hint: 'needs openssh-server (/usr/sbin/sshd)' });
    await delay(100);
  }
}

async function untilClosed(address: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (await answers(address)) {
    if (Date.now() > deadline) throw new TestHostsError(`sshd on ${address}:22 did not stop in 20 s`, { where: 'kvm sshd' });
    await delay(100);
  }
}
