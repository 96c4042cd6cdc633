import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../clusters/host/command.ts';

/**
 * A real OpenSSH server for tests of the SSH layer: its own host key, one client key, on
 * 127.0.0.1:<free port>, root login by key only. It runs in a private mount namespace with a
 * tmpfs on /run, so its privilege-separation directory never touches the machine's /run.
 */
export interface SshdFixture {
  readonly port: number;
  readonly dir: string;
  /** `ssh-ed25519 AAAA...` of the host key. */
  readonly hostPublicKey: string;
  /** known_hosts line(s) naming this server correctly. */
  readonly knownHostsLine: string;
  readonly clientKeyPath: string;
  /** sshd's log so far. */
  log(): string;
  /** Resolves when a log line matches (a condition, not a sleep). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function keygen(path: string): Promise<string> {
  const r = await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'infra-test', '-f', path]);
  if (r.code !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
}

export async function startSshd(options: { clientKeyPath?: string; extraConfig?: string; logLevel?: 'VERBOSE' | 'DEBUG1' } = {}): Promise<SshdFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-sshd-'));
  const hostPublicKey = await keygen(join(dir, 'host_key'));
  const clientKeyPath = options.clientKeyPath ?? join(dir, 'client_key');
  if (!options.clientKeyPath) await keygen(clientKeyPath);
  await writeFile(join(dir, 'authorized_keys'), `${(await readFile(`${clientKeyPath}.pub`, 'utf8')).trim()}\n`, { mode: 0o600 });
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding yes',
    // DEBUG1 logs forwarded channels, but also sends debug lines to sessions' stderr: jump hosts only.
    `LogLevel ${options.logLevel ?? 'VERBOSE'}`,
    options.extraConfig ?? '',
  ].join('\n');
  await writeFile(join(dir, 'sshd_config'), `${config}\n`);
  const child: ChildProcess = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && exec /usr/sbin/sshd -D -e -f "$1"', 'sh', join(dir, 'sshd_config')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  const watchers = new Set<() => void>();
  child.stderr?.on('data', (b: Buffer) => {
    log += b.toString();
    for (const w of watchers) w();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitForLog = (re: RegExp, timeoutMs = 20_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(log);
        if (m) {
          done();
          resolve(m[0]);
        } else if (child.exitCode !== null) {
          done();
          reject(new Error(`sshd exited (${child.exitCode}) before ${re}:\n${log}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`sshd log never matched ${re} within ${timeoutMs} ms:\n${log}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        watchers.delete(check);
        child.off('exit', check);
      };
      watchers.add(check);
      child.on('exit', check);
      check();
    });
  const fixture: SshdFixture = {
    port,
    dir,
    hostPublicKey,
    knownHostsLine: `[127.0.0.1]:${port} ${hostPublicKey}`,
    clientKeyPath,
    log: () => log,
    waitForLog,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForLog(/Server listening on 127\.0\.0\.1 port \d+/);
  } catch (err) {
    await fixture.stop();
    throw err;
  }
  return fixture;
}
