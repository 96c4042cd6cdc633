import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { must } from './test-hosts-exec.ts';

/** The users every test host has: root (key), alice (key, passwordless sudo), bob (key, no sudo). */
export const TEST_USERS = ['root', 'alice', 'bob'] as const;
export type TestUserName = (typeof TEST_USERS)[number];

export interface UserKey {
  readonly user: TestUserName;
  /** Private key (ed25519, OpenSSH format, mode 0600). */
  readonly keyPath: string;
  readonly publicKey: string;
}

export interface HostKey {
  readonly privatePath: string;
  /** `ssh-ed25519 AAAA...` without comment. */
  readonly publicKey: string;
  /** `SHA256:...`, as ssh and ssh2's hostVerifier show it. */
  readonly fingerprint: string;
}

/** One key per user for the whole run (in `<slot>/keys`, private and 0600). */
export async function makeUserKeys(dir: string): Promise<Record<TestUserName, UserKey>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys = {} as Record<TestUserName, UserKey>;
  for (const user of TEST_USERS) {
    const keyPath = join(dir, `${user}_ed25519`);
    await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${user}@infra-test`, '-f', keyPath], `key of test user ${user}`);
    await chmod(keyPath, 0o600);
    keys[user] = { user, keyPath, publicKey: (await readFile(`${keyPath}.pub`, 'utf8')).trim() };
  }
  return keys;
}

/** A fresh host key written straight into the host's /etc/ssh (of its overlay layer). */
export async function makeHostKey(etcSsh: string, host: string): Promise<HostKey> {
  const privatePath = join(etcSsh, 'ssh_host_ed25519_key');
  await mkdir(etcSsh, { recursive: true });
  await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${host}`, '-f', privatePath], `host key of ${host}`);
  const [type = '', body = ''] = (await readFile(`${privatePath}.pub`, 'utf8')).trim().split(/\s+/);
  const listed = await must('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${privatePath}.pub`], `host key of ${host}`);
  const fingerprint = /SHA256:\S+/.exec(listed)?.[0] ?? '';
  return { privatePath, publicKey: `${type} ${body}`, fingerprint };
}

/** known_hosts lines for hosts on port 22 (no brackets needed). */
export function knownHostsText(entries: readonly { address: string; name: string; hostKey: HostKey }[]): string {
  return entries.map((e) => `${e.address} ${e.hostKey.publicKey}\n`).join('');
}

/** An OpenSSH client config naming every host with its address, users' keys and the known_hosts file. */
export function sshConfigText(
  entries: readonly { address: string; name: string }[],
  user: UserKey,
  knownHostsPath: string,
): string {
  return entries
    .map((e) =>
      [
        `Host ${e.name}`,
        `  HostName ${e.address}`,
        `  User ${user.user}`,
        `  IdentityFile ${user.keyPath}`,
        `  IdentitiesOnly yes`,
        `  UserKnownHostsFile ${knownHostsPath}`,
        `  StrictHostKeyChecking yes`,
        '',
      ].join('\n'),
    )
    .join('\n');
}

export async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
}
