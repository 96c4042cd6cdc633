import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { CommandResult } from '../../clusters/host/command.ts';
import { runCommand, tail } from '../../clusters/host/command.ts';
import { isSameProcess, startTimeOf } from '../../clusters/host/process-table.ts';
import { createHostGroups, killGroups } from './test-hosts-cgroups.ts';
import { TestHostsError } from './test-hosts-errors.ts';
import { must } from './test-hosts-exec.ts';
import type { HostKey, TestUserName, UserKey } from './test-hosts-identity.ts';
import { makeHostKey } from './test-hosts-identity.ts';
import type { HostLayout, SlotLayout } from './test-hosts-layout.ts';

/**
 * One test host: a systemd-nspawn container booting systemd from a copy-on-write overlay of
 * the cached Debian root filesystem, inside the network namespace the harness made for it.
 * See README "SSH test hosts" for why each option is there.
 */

/** Directories bind-mounted from the real disk: overlayfs (containerd's snapshotter) cannot nest on the overlay root. */
const DATA_DIRS = ['containerd', 'kubelet', 'etcd'] as const;

export async function mountRoot(rootfs: string, host: HostLayout): Promise<void> {
  for (const d of [host.rootDir, host.upperDir, host.workDir, ...DATA_DIRS.map((d) => join(host.dataDir, d))]) await mkdir(d, { recursive: true });
  await must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${rootfs},upperdir=${host.upperDir},workdir=${host.workDir}`, host.rootDir], `test host ${host.name}`);
}

/** Writes the host's identity into its root: name, peers, machine id, host key, users' authorized keys. */
export async function provision(
  host: HostLayout,
  peers: readonly { name: string; address: string }[],
  users: Record<TestUserName, UserKey>,
): Promise<HostKey> {
  const etc = join(host.rootDir, 'etc');
  await writeFile(join(etc, 'hostname'), `${host.name}\n`);
  const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback', ...peers.map((p) => `${p.address} ${p.name}`)];
  await writeFile(join(etc, 'hosts'), `${lines.join('\n')}\n`);
  await writeFile(join(etc, 'machine-id'), `${randomBytes(16).toString('hex')}\n`);
  const hostKey = await makeHostKey(join(etc, 'ssh'), host.name);
  const authorized = join(etc, 'ssh', 'authorized_keys');
  await mkdir(authorized, { recursive: true });
  for (const key of Object.values(users)) await writeFile(join(authorized, key.user), `${key.publicKey}\n`, { mode: 0o644 });
  return hostKey;
}

/**
 * Boots the host: systemd-nspawn, first moved into the host's own cgroups (by a shell that
 * then execs it), detached from the runner so a test's Ctrl-C does not tear it down half-way.
 * Records pid and start time; resolves when sshd answers on the host's address.
 */
export async function boot(slot: SlotLayout, host: HostLayout, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  // Whatever way this machine name last stopped (killed, a boot that timed out, a crashed run),
  // its propagate folder may be left; nspawn refuses to boot over it where /run is a disk file
  // system ("Attempted to remove disk file system"). The slot's lock means no live machine owns it.
  await rm(`/run/systemd/nspawn/propagate/${host.netns}`, { recursive: true, force: true });
  const procs = await createHostGroups(slot.slot, host.name);
  const args = [
    '--boot',
    `--directory=${host.rootDir}`,
    // Unique on the machine (it names /run/systemd/nspawn/propagate/<machine>); the hostname is the test's.
    `--machine=${host.netns}`,
    `--hostname=${host.name}`,
    // PID 1 of this machine is not systemd: no machined to register with, no unit to create.
    '--register=no',
    '--keep-unit',
    `--network-namespace-path=/run/netns/${host.netns}`,
    '--console=pipe',
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
    // containerd + runc inside: every capability, and the keyring syscalls runc uses.
    '--capability=all',
    '--system-call-filter=@known',
    '--bind=/dev/kmsg',
    ...DATA_DIRS.map((d) => `--bind=${join(host.dataDir, d)}:/var/lib/${d}`),
  ];
  const log = openSync(host.consoleLog, 'a');
  const child = spawn('sh', ['-c', 'IFS=:; for f in $INFRA_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec "$@"', 'sh', 'systemd-nspawn', ...args], {
    detached: true,
    stdio: ['ignore', log, log],
    // Only /proc/sys/net becomes writable: the rest of /proc/sys is the whole machine's.
    env: { ...process.env, INFRA_CGROUP_PROCS: procs.join(':'), SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network' },
  });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new TestHostsError('systemd-nspawn did not start', { where: `test host ${host.name}` });
  await writeFile(host.pidFile, `${pid} ${startTimeOf(pid) ?? ''}\n`);
  await waitForSsh(host, options);
  await makeCgroupsWritable(host, pid);
  await presentKernelTunables(host);
}

/** The pid of the running nspawn of a host, if its pid file names a live one. */
export async function nspawnPid(host: HostLayout): Promise<number | undefined> {
  try {
    const [pid = '', start = ''] = (await readFile(host.pidFile, 'utf8')).trim().split(' ');
    return isSameProcess(Number(pid), start) ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}

/** PID 1 of the container (systemd), the child of nspawn. */
export async function containerInit(host: HostLayout): Promise<number> {
  const pid = await nspawnPid(host);
  const children = pid ? (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(' ').filter(Boolean) : [];
  if (!children[0]) throw new TestHostsError('the host is not running', { where: `test host ${host.name}`, hint: 'restartHost() it first' });
  return Number(children[0]);
}

/** Power loss: every process of the host dies at once (the overlay and network stay). */
export async function kill(slot: SlotLayout, host: HostLayout): Promise<void> {
  await killGroups(slot.slot, host.name);
  // A killed nspawn leaves its propagate folder; where /run is a disk file system the next boot
  // of the same machine refuses to remove it ("Attempted to remove disk file system"), so it goes here.
  await rm(`/run/systemd/nspawn/propagate/${host.netns}`, { recursive: true, force: true });
}

/** Clean shutdown (SIGTERM to nspawn halts the container), then whatever is left is killed. */
export async function shutdown(slot: SlotLayout, host: HostLayout, graceMs = 10_000): Promise<void> {
  const pid = await nspawnPid(host);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
    const until = Date.now() + graceMs;
    while (Date.now() < until && (await nspawnPid(host)) !== undefined) await delay(50);
  }
  await killGroups(slot.slot, host.name);
}

async function waitForSsh(host: HostLayout, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const until = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await sshBanner(host.address)) return;
    if ((await nspawnPid(host)) === undefined) {
      const console = await readFile(host.consoleLog, 'utf8').catch(() => '');
      throw new TestHostsError(`systemd-nspawn exited while booting: ${tail(console, 5)}`, { where: `test host ${host.name}`, hint: `see ${host.consoleLog}` });
    }
    if (Date.now() > until) {
      throw new TestHostsError(`sshd did not answer on ${host.address}:22 within ${options.timeoutMs} ms`, {
        where: `test host ${host.name}`,
        hint: `look inside: nsenter -t <pid 1 of the container> -a journalctl -b (console: ${host.consoleLog})`,
      });
    }
    await delay(100, undefined, { signal: options.signal });
  }
}

/** True once something on address:22 greets with an SSH banner. */
function sshBanner(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port: 22, timeout: 2000 });
    let seen = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.on('data', (b: Buffer) => {
      seen += b.toString('latin1');
      if (seen.includes('\n')) done(seen.startsWith('SSH-'));
    });
    socket.on('timeout', () => done(false));
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

/**
 * nspawn mounts the cgroup v1 controllers read-only (hybrid hierarchy); runc must create the
 * containers' groups there. The container's view is rooted at its own group (cgroup
 * namespace), so making the mounts writable gives it its subtree only.
 */
async function makeCgroupsWritable(host: HostLayout, nspawn: number): Promise<void> {
  const init = await containerInit(host);
  const mountinfo = await readFile(`/proc/${init}/mountinfo`, 'utf8');
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    const fields = before?.split(' ') ?? [];
    const mountPoint = fields[4] ?? '';
    const readOnly = (fields[5] ?? '').split(',').includes('ro');
    if (after?.startsWith('cgroup ') && mountPoint.startsWith('/sys/fs/cgroup/') && readOnly) {
      await must('nsenter', ['-t', String(init), '-m', 'mount', '-o', 'remount,bind,rw', mountPoint], `test host ${host.name} (nspawn ${nspawn})`);
    }
  }
}

/**
 * Kernel settings kubelet insists on (it fails to start if it cannot set them) but that are
 * global to the machine, not per host: a kubelet in a test host must not change the shared
 * machine. Each host sees read-only files with kubelet's values over them instead, so kubelet
 * finds them already set and writes nothing.
 */
export const KUBELET_KERNEL_TUNABLES: Readonly<Record<string, string>> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};
const TUNABLES_DIR = '/etc/infra-test-host/sysctl';

async function presentKernelTunables(host: HostLayout): Promise<void> {
  const dir = join(host.rootDir, TUNABLES_DIR);
  await mkdir(dir, { recursive: true });
  const init = String(await containerInit(host));
  for (const [key, value] of Object.entries(KUBELET_KERNEL_TUNABLES)) {
    const file = key.replaceAll('/', '.');
    await writeFile(join(dir, file), `${value}\n`);
    await must('nsenter', ['-t', init, '-m', 'mount', '--bind', '-o', 'ro', `${TUNABLES_DIR}/${file}`, `/proc/sys/${key}`], `test host ${host.name}`);
  }
}

/** Runs a command inside a host (all its namespaces) as root, without SSH: for tests to look inside. */
export async function runInside(host: HostLayout, argv: readonly string[]): Promise<string> {
  const init = await containerInit(host);
  return must('nsenter', ['-t', String(init), '-a', '--', ...argv], `test host ${host.name}`);
}

/** Like runInside, but resolves with the exit code and output whatever the code. */
export async function execInside(host: HostLayout, argv: readonly string[]): Promise<CommandResult> {
  const init = await containerInit(host);
  return runCommand('nsenter', ['-t', String(init), '-a', '--', ...argv]);
}
