import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { claimSlot, purgeSlot } from './test-hosts-cleanup.ts';
import { TestHostsError } from './test-hosts-errors.ts';
import type { HostKey, TestUserName } from './test-hosts-identity.ts';
import { knownHostsText, makeUserKeys, sshConfigText, writePrivate } from './test-hosts-identity.ts';
import type { HostLayout, SlotLayout } from './test-hosts-layout.ts';
import { hostLayout } from './test-hosts-layout.ts';
import type { CommandResult } from '../../clusters/host/command.ts';
import { boot, execInside, kill, mountRoot, nspawnPid, provision, runInside, shutdown } from './test-hosts-machine.ts';
import { attachHost, createLan, setHiddenFromRunner, setHostLink } from './test-hosts-network.ts';
import { ensureRootfs } from './test-hosts-rootfs.ts';

/**
 * Real Linux hosts for tests, reachable only over SSH: systemd-nspawn containers booting
 * Debian (systemd, sshd, sudo, containerd, runc) on a private bridge, 10.213.<slot>.0/24.
 *
 *   const hosts = await startTestHosts({ count: 3, prefix: 'node' });
 *   // ssh -i hosts[0].users.alice.keyPath -o UserKnownHostsFile=hosts[0].knownHostsPath alice@hosts[0].address
 *   await cutLink(hosts[1]); await restoreLink(hosts[1]);
 *   await killHost(hosts[2]); await restartHost(hosts[2]);
 *   await hideFromRunner(hosts[1]); // reachable only through another host (ProxyJump)
 *   await stopTestHosts();
 *
 * One run per process at a time; runs of other processes (other test files, other worktrees)
 * get other slots. A run that crashes is purged by the next one (see test-hosts-cleanup.ts).
 */

export interface TestHostUser {
  readonly user: TestUserName;
  /** Private key, 0600. */
  readonly keyPath: string;
}

export interface TestHost {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly users: Readonly<Record<TestUserName, TestHostUser>>;
  /** `SHA256:...` of the host's ed25519 key. */
  readonly hostKeyFingerprint: string;
  /** `ssh-ed25519 AAAA...` */
  readonly hostPublicKey: string;
  /** known_hosts with every host of the run. */
  readonly knownHostsPath: string;
  /** An OpenSSH client config with a `Host <name>` entry per host (user alice, her key, the known_hosts). */
  readonly sshConfigPath: string;
}

export interface StartOptions {
  readonly count: number;
  /** Host names are `<prefix>-1` ... `<prefix>-<count>`. Default `host`. */
  readonly prefix?: string;
  /** Per host, for the boot until sshd answers. Default 120 s (the machine may be busy). */
  readonly bootTimeoutMs?: number;
  readonly progress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

interface Run {
  readonly slot: SlotLayout;
  readonly rootfs: string;
  readonly hosts: Map<string, { layout: HostLayout; host: TestHost }>;
  readonly release: () => Promise<void>;
  readonly bootTimeoutMs: number;
}

let current: Run | undefined;

export async function startTestHosts(options: StartOptions): Promise<TestHost[]> {
  if (current) throw new TestHostsError('test hosts are already running in this process', { where: current.slot.dir, hint: 'stopTestHosts() first' });
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > 200) {
    throw new TestHostsError(`count must be 1..200, got ${options.count}`, { where: 'startTestHosts' });
  }
  const prefix = options.prefix ?? 'host';
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(prefix)) throw new TestHostsError(`prefix "${prefix}" is not a lowercase host name`, { where: 'startTestHosts' });
  const rootfs = await ensureRootfs({ ...(options.progress ? { progress: options.progress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const { slot, release } = await claimSlot();
  const run: Run = { slot, rootfs, hosts: new Map(), release, bootTimeoutMs: options.bootTimeoutMs ?? 120_000 };
  current = run;
  try {
    await mkdir(slot.dir, { recursive: true, mode: 0o700 });
    const users = await makeUserKeys(join(slot.dir, 'keys'));
    const layouts = Array.from({ length: options.count }, (_, i) => hostLayout(slot, `${prefix}-${i + 1}`, i + 1));
    const knownHostsPath = join(slot.dir, 'known_hosts');
    const sshConfigPath = join(slot.dir, 'ssh_config');
    await createLan(slot);
    const hostKeys: HostKey[] = [];
    for (const layout of layouts) {
      await attachHost(slot, layout);
      await mountRoot(rootfs, layout);
      hostKeys.push(await provision(layout, layouts, users));
    }
    const entries = layouts.map((l, i) => ({ name: l.name, address: l.address, hostKey: hostKeys[i]! }));
    await writeFile(knownHostsPath, knownHostsText(entries));
    await writePrivate(sshConfigPath, sshConfigText(entries, users.alice, knownHostsPath));
    const userRefs = Object.fromEntries(Object.values(users).map((u) => [u.user, { user: u.user, keyPath: u.keyPath }])) as Record<TestUserName, TestHostUser>;
    for (const [i, layout] of layouts.entries()) {
      const key = hostKeys[i]!;
      run.hosts.set(layout.name, {
        layout,
        host: { name: layout.name, address: layout.address, port: 22, users: userRefs, hostKeyFingerprint: key.fingerprint, hostPublicKey: key.publicKey, knownHostsPath, sshConfigPath },
      });
    }
    const started = Date.now();
    await Promise.all(layouts.map((l) => boot(slot, l, { timeoutMs: run.bootTimeoutMs, ...(options.signal ? { signal: options.signal } : {}) })));
    options.progress?.(`${layouts.length} test host(s) up in ${((Date.now() - started) / 1000).toFixed(1)}s on 10.213.${slot.slot}.0/24`);
    return [...run.hosts.values()].map((h) => h.host);
  } catch (err) {
    await stopTestHosts();
    throw err;
  }
}

/** Stops every host of this process's run and removes all it made (namespaces, mounts, cgroups, files). */
export async function stopTestHosts(): Promise<void> {
  const run = current;
  if (!run) return;
  try {
    await Promise.all([...run.hosts.values()].map((h) => shutdown(run.slot, h.layout)));
    await purgeSlot(run.slot);
  } finally {
    current = undefined;
    await run.release();
  }
}

/** The host's link goes down: it keeps running, but nobody (runner or other hosts) reaches it. */
export async function cutLink(host: TestHost | string): Promise<void> {
  const { run, layout } = find(host);
  await setHostLink(run.slot, layout, 'down');
}

export async function restoreLink(host: TestHost | string): Promise<void> {
  const { run, layout } = find(host);
  await setHostLink(run.slot, layout, 'up');
}

/**
 * The runner can no longer reach the host, the other hosts still can: a host behind a bastion
 * (ProxyJump through another test host). `showToRunner` undoes it.
 */
export async function hideFromRunner(host: TestHost | string): Promise<void> {
  const { run, layout } = find(host);
  await setHiddenFromRunner(run.slot, layout, true);
}

export async function showToRunner(host: TestHost | string): Promise<void> {
  const { run, layout } = find(host);
  await setHiddenFromRunner(run.slot, layout, false);
}

/** Power loss: every process of the host is killed at once. Its disk (overlay, data) stays for restartHost. */
export async function killHost(host: TestHost | string): Promise<void> {
  const { run, layout } = find(host);
  await kill(run.slot, layout);
}

/** Boots a killed host again (same disk, address and host key); resolves when sshd answers. */
export async function restartHost(host: TestHost | string, signal?: AbortSignal): Promise<void> {
  const { run, layout } = find(host);
  if ((await nspawnPid(layout)) !== undefined) throw new TestHostsError('the host is still running', { where: `test host ${layout.name}`, hint: 'killHost() it first' });
  await boot(run.slot, layout, { timeoutMs: run.bootTimeoutMs, ...(signal ? { signal } : {}) });
}

/** True while the host's container runs (whatever its link). */
export async function isHostRunning(host: TestHost | string): Promise<boolean> {
  const { layout } = find(host);
  return (await nspawnPid(layout)) !== undefined;
}

/** Runs a command as root inside a host without SSH (to check what an SSH step did). Fails on a non-zero exit. */
export async function runOnHost(host: TestHost | string, argv: readonly string[]): Promise<string> {
  const { layout } = find(host);
  return runInside(layout, argv);
}

/** Like runOnHost, but resolves with `{ code, stdout, stderr }` whatever the exit code. */
export async function execOnHost(host: TestHost | string, argv: readonly string[]): Promise<CommandResult> {
  const { layout } = find(host);
  return execInside(layout, argv);
}

function find(host: TestHost | string): { run: Run; layout: HostLayout } {
  const name = typeof host === 'string' ? host : host.name;
  const entry = current?.hosts.get(name);
  if (!current || !entry) throw new TestHostsError(`no test host named ${name} in this process's run`, { where: 'test hosts', hint: 'startTestHosts() first' });
  return { run: current, layout: entry.layout };
}
