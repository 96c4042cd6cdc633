import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { runCommand, tail } from '../../clusters/host/command.ts';
import { acquireLock } from '../../clusters/host/file-lock.ts';
import { LockHeldError } from '../../clusters/errors.ts';
import { attempt, must } from './test-hosts-exec.ts';
import { TestHostsError } from './test-hosts-errors.ts';
import type { KvmSlotLayout } from './kvm-layout.ts';
import { KVM_DIR, KVM_LOCK_DIR, KVM_NETNS_PREFIX, KVM_SLOT_MAX, KVM_SLOT_MIN, KVM_UPLINK_PREFIX, kvmSlotLayout, kvmSlotOfName } from './kvm-layout.ts';

/**
 * A private libvirt for tests: its own virtlogd + libvirtd (system mode, in a private mount
 * namespace whose libvirt paths are the slot's directories, see test/kvm/run-libvirtd.sh),
 * inside a network namespace the harness creates, so VMs, bridges and dnsmasq never touch the
 * machine's network. The runner reaches the VMs' subnet through one veth; nothing is forwarded
 * out. `stopKvm()` (and the next run, after a crash) kills every process of the namespace and
 * removes it with all domains, volumes and networks (they live in the slot's directory).
 *
 *   const kvm = await startKvm();
 *   // virsh -c kvm.uri list --all
 *   await stopKvm(kvm);
 */
export interface KvmRun extends KvmSlotLayout {
  release(): Promise<void>;
}

const RUN_DAEMONS = fileURLToPath(new URL('../kvm/run-libvirtd.sh', import.meta.url));

export async function startKvm(options: { signal?: AbortSignal } = {}): Promise<KvmRun> {
  const { slot, release } = await claimKvmSlot();
  try {
    await createNamespace(slot);
    await writeDaemonConfig(slot);
    await startDaemons(slot, options.signal);
    return { ...slot, release };
  } catch (err) {
    await purgeKvmSlot(slot).catch(() => undefined);
    await release();
    throw err;
  }
}

export async function stopKvm(run: KvmRun): Promise<void> {
  try {
    await purgeKvmSlot(run);
  } finally {
    await run.release();
  }
}

/** `virsh -c <run's uri> args...` (for checks in tests). */
export async function virsh(run: KvmSlotLayout, args: readonly string[]): Promise<string> {
  return must('virsh', ['-q', '-c', run.uri, ...args], `kvm slot ${run.slot}`);
}

async function createNamespace(slot: KvmSlotLayout): Promise<void> {
  const where = `kvm slot ${slot.slot}`;
  const ns = slot.netns;
  await must('ip', ['netns', 'add', ns], where);
  await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], where);
  await must('ip', ['link', 'add', slot.uplink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', ns], where);
  await must('ip', ['-n', ns, 'addr', 'add', `${slot.innerAddress}/24`, 'dev', 'uplink'], where);
  await must('ip', ['-n', ns, 'link', 'set', 'uplink', 'up'], where);
  await must('ip', ['addr', 'add', `${slot.uplinkAddress}/24`, 'dev', slot.uplink], where);
  await must('ip', ['link', 'set', slot.uplink, 'up'], where);
  await must('ip', ['route', 'add', `${slot.vmSubnetPrefix}.0/24`, 'via', slot.innerAddress, 'dev', slot.uplink], where);
  // libvirt's NAT rules let only replies into a NAT network. The runner must open SSH to the
  // VMs, so its connections (arriving on `uplink`) are accepted first. libvirt inserts its
  // jumps to LIBVIRT_* only for chains it creates, so making them here keeps this rule ahead.
  const ipt = (table: string, args: string[]) => must('ip', ['netns', 'exec', ns, 'iptables', '-w', '-t', table, ...args], where);
  for (const chain of ['LIBVIRT_INP', 'LIBVIRT_OUT', 'LIBVIRT_FWO', 'LIBVIRT_FWI', 'LIBVIRT_FWX']) await ipt('filter', ['-N', chain]);
  await ipt('filter', ['-A', 'INPUT', '-j', 'LIBVIRT_INP']);
  await ipt('filter', ['-A', 'OUTPUT', '-j', 'LIBVIRT_OUT']);
  await ipt('filter', ['-A', 'FORWARD', '-i', 'uplink', '-d', `${slot.vmSubnetPrefix}.0/24`, '-j', 'ACCEPT']);
  for (const chain of ['LIBVIRT_FWX', 'LIBVIRT_FWI', 'LIBVIRT_FWO']) await ipt('filter', ['-A', 'FORWARD', '-j', chain]);
  for (const table of ['nat', 'mangle']) {
    await ipt(table, ['-N', 'LIBVIRT_PRT']);
    await ipt(table, ['-A', 'POSTROUTING', '-j', 'LIBVIRT_PRT']);
  }
}

async function writeDaemonConfig(slot: KvmSlotLayout): Promise<void> {
  const etc = `${slot.daemonDir}/etc`;
  await mkdir(`${etc}/qemu/networks/autostart`, { recursive: true });
  await mkdir(slot.poolsDir, { recursive: true });
  await writeFile(`${etc}/libvirtd.conf`, ['unix_sock_rw_perms = "0700"', 'auth_unix_rw = "none"', 'auth_unix_ro = "none"', 'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"', ''].join('\n'));
  await writeFile(`${etc}/virtlogd.conf`, 'log_outputs = "3:file:/var/log/libvirt/virtlogd.log"\n');
  // QEMU runs as root without a security driver or cgroups: the harness is root in a
  // container-like machine (no systemd, no AppArmor), and the slot's files are root's.
  await writeFile(
    `${etc}/qemu.conf`,
    ['user = "root"', 'group = "root"', 'dynamic_ownership = 0', 'remember_owner = 0', 'security_driver = "none"', 'cgroup_controllers = [ ]', 'namespaces = [ ]', ''].join('\n'),
  );
  await writeFile(`${etc}/libvirt.conf`, '');
}

async function startDaemons(slot: KvmSlotLayout, signal?: AbortSignal): Promise<void> {
  const out = openSync(slot.daemonLog, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', slot.netns, 'unshare', '--mount', '--propagation', 'private', RUN_DAEMONS, slot.daemonDir], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.unref();
  } finally {
    closeSync(out);
  }
  // Ready when a client gets an answer through the private socket.
  const deadline = Date.now() + 60_000;
  for (;;) {
    signal?.throwIfAborted();
    const r = await runCommand('virsh', ['-q', '-c', slot.uri, 'version'], signal ? { signal } : {});
    if (r.code === 0) return;
    if (Date.now() > deadline) {
      throw new TestHostsError(`libvirtd did not answer on ${slot.socket} within 60 s: ${tail(r.stderr, 3)}`, { where: `kvm slot ${slot.slot}`, hint: `see ${slot.daemonLog} and ${slot.daemonDir}/log/libvirtd.log` });
    }
    await delay(200, undefined, signal ? { signal } : {});
  }
}

/** Kills every process in the slot's namespace (libvirtd, virtlogd, QEMU, dnsmasq), then removes the namespace, the uplink and the slot's files. */
export async function purgeKvmSlot(slot: KvmSlotLayout): Promise<void> {
  const ns = slot.netns;
  if ((await harnessKvmNamespaces()).includes(ns)) {
    for (let round = 0; round < 50; round++) {
      const r = await runCommand('ip', ['netns', 'pids', ns]);
      const pids = r.stdout.split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 0);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await delay(100);
    }
    await attempt('ip', ['netns', 'delete', ns]);
  }
  await attempt('ip', ['link', 'delete', slot.uplink]);
  await rm(slot.dir, { recursive: true, force: true });
}

async function harnessKvmNamespaces(): Promise<string[]> {
  const names = await readdir('/run/netns').catch(() => [] as string[]);
  return names.filter((n) => new RegExp(`^${KVM_NETNS_PREFIX}\\d+$`).test(n));
}

async function claimKvmSlot(): Promise<{ slot: KvmSlotLayout; release: () => Promise<void> }> {
  for (let n = KVM_SLOT_MIN; n <= KVM_SLOT_MAX; n++) {
    const slot = kvmSlotLayout(n);
    try {
      const lock = await acquireLock(slot.lock, { what: `kvm slot ${n}`, wait: false });
      await purgeKvmSlot(slot);
      return { slot, release: () => lock.release() };
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err;
    }
  }
  throw new LockHeldError(`all ${KVM_SLOT_MAX} kvm slots are held by live runs`, { where: KVM_LOCK_DIR, hint: 'stop some test runs' });
}

/** Removes what crashed runs left (processes, namespaces, uplinks, files) in every slot no live run holds. */
export async function purgeStaleKvmSlots(): Promise<number[]> {
  const names = [
    ...(await readdir(KVM_DIR).catch(() => [] as string[])),
    ...(await readdir(KVM_LOCK_DIR).catch(() => [] as string[])),
    ...(await harnessKvmNamespaces()),
    ...(await readdir('/sys/class/net')).filter((n) => n.startsWith(KVM_UPLINK_PREFIX)),
  ];
  const slots = new Set<number>();
  for (const name of names) {
    const n = kvmSlotOfName(name);
    if (n !== undefined) slots.add(n);
  }
  const purged: number[] = [];
  for (const n of [...slots].sort((a, b) => a - b)) {
    const slot = kvmSlotLayout(n);
    let lock;
    try {
      lock = await acquireLock(slot.lock, { what: `kvm slot ${n}`, wait: false });
    } catch (err) {
      if (err instanceof LockHeldError) continue;
      throw err;
    }
    try {
      await purgeKvmSlot(slot);
      purged.push(n);
    } finally {
      await lock.release();
    }
  }
  return purged;
}
