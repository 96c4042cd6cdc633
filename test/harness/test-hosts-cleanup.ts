import { readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { acquireLock } from '../../clusters/host/file-lock.ts';
import { LockHeldError } from '../../clusters/errors.ts';
import { killGroups, removeSlotGroups, slotsWithGroups } from './test-hosts-cgroups.ts';
import { attempt } from './test-hosts-exec.ts';
import type { SlotLayout } from './test-hosts-layout.ts';
import { NETNS_PREFIX, SLOT_LOCK_DIR, SLOT_MAX, SLOT_MIN, slotLayout, slotOfName, TEST_HOSTS_DIR } from './test-hosts-layout.ts';
import { harnessNamespaces, harnessUplinks, removeSlotNetwork } from './test-hosts-network.ts';

/**
 * Everything a run (live or crashed) made for its slot goes, in this order: its processes
 * (killed by cgroup, so nothing escapes), its mounts, its namespaces and uplink, its cgroups,
 * its files. Only called while holding the slot's lock, so never on a live run's slot.
 */
export async function purgeSlot(slot: SlotLayout): Promise<void> {
  await killGroups(slot.slot);
  for (const mountPoint of mountsUnder(slot.dir)) {
    if (!(await attempt('umount', [mountPoint]))) await attempt('umount', ['-l', mountPoint]);
  }
  await removeSlotNetwork(slot.slot);
  await removeSlotGroups(slot.slot);
  // nspawn leaves this behind when it is killed rather than stopped.
  const propagate = '/run/systemd/nspawn/propagate';
  for (const entry of await readdir(propagate).catch(() => [] as string[])) {
    if (entry.startsWith(`${NETNS_PREFIX}${slot.slot}-`)) await rm(`${propagate}/${entry}`, { recursive: true, force: true });
  }
  await rm(slot.dir, { recursive: true, force: true });
}

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const found: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint && (mountPoint === dir || mountPoint.startsWith(`${dir}/`))) found.push(mountPoint);
  }
  return found.sort((a, b) => b.length - a.length);
}

/** Claims the first free slot (purging a crashed run's leftovers in it). Holds its lock until released. */
export async function claimSlot(): Promise<{ slot: SlotLayout; release: () => Promise<void> }> {
  for (let n = SLOT_MIN; n <= SLOT_MAX; n++) {
    const slot = slotLayout(n);
    try {
      const lock = await acquireLock(slot.lock, { what: `test hosts slot ${n}`, wait: false });
      await purgeSlot(slot);
      return { slot, release: () => lock.release() };
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err;
    }
  }
  throw new LockHeldError(`all ${SLOT_MAX} test-host slots are held by live runs`, { where: SLOT_LOCK_DIR, hint: 'stop some test runs' });
}

/**
 * Removes what crashed runs left (namespaces, uplinks, cgroups with their processes, mounts,
 * state) for every slot no live run holds. Returns the slots it purged.
 */
export async function purgeStaleSlots(): Promise<number[]> {
  const names = [
    ...(await readdir(TEST_HOSTS_DIR).catch(() => [] as string[])),
    ...(await readdir(SLOT_LOCK_DIR).catch(() => [] as string[])),
    ...(await harnessNamespaces()),
    ...(await harnessUplinks()),
  ];
  const slots = new Set<number>(await slotsWithGroups());
  for (const name of names) {
    const n = slotOfName(name);
    if (n !== undefined) slots.add(n);
  }
  const purged: number[] = [];
  for (const n of [...slots].sort((a, b) => a - b)) {
    const slot = slotLayout(n);
    let lock;
    try {
      lock = await acquireLock(slot.lock, { what: `test hosts slot ${n}`, wait: false });
    } catch (err) {
      if (err instanceof LockHeldError) continue;
      throw err;
    }
    try {
      await purgeSlot(slot);
      purged.push(n);
    } finally {
      await lock.release();
    }
  }
  return purged;
}
