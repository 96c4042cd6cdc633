import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * One cgroup per test host in EVERY hierarchy (cgroup v1 controllers, the named systemd one,
 * and the unified one). systemd-nspawn is moved into them before it starts, so each container
 * gets its own cgroup namespace root: without that, all hosts share the runner's cgroups and
 * their systemd instances (and kubelets) create the same `system.slice` / `kubepods` groups.
 * It also lets a cleanup find every process a host left, even after a crash of the runner.
 */
const GROUP = 'infra-testhosts';

export interface Hierarchy {
  /** Where it is mounted, e.g. /sys/fs/cgroup/cpu. */
  readonly mount: string;
  /** The runner's own group in it, e.g. / or /process_api/ab12. */
  readonly own: string;
  readonly controllers: string;
}

/** The hierarchies this process sits in, each with its mount point. */
export function hierarchies(): Hierarchy[] {
  const mounts = cgroupMounts();
  const found: Hierarchy[] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const controllers = m[1] ?? '';
    const mount = mounts.get(controllers);
    if (mount) found.push({ mount, own: m[2] ?? '/', controllers });
  }
  return found;
}

/** Hierarchy key (controllers, '' for cgroup2) → mount point, from /proc/self/mountinfo. */
function cgroupMounts(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const mountPoint = before.split(' ')[4] ?? '';
    const [fsType, , options = ''] = after.split(' ');
    if (fsType === 'cgroup2') out.set('', mountPoint);
    if (fsType !== 'cgroup') continue;
    const opts = options.split(',');
    const name = opts.find((o) => o.startsWith('name='));
    const controllers = opts.filter((o) => !['rw', 'ro', 'relatime', 'nosuid', 'nodev', 'noexec', 'clone_children'].includes(o) && !o.startsWith('name=') && !o.startsWith('release_agent='));
    // /proc/self/cgroup lists the controllers of a hierarchy in the kernel's order; keep both spellings.
    const key = name ?? controllers.join(',');
    out.set(key, mountPoint);
    if (!name) out.set([...controllers].sort().join(','), mountPoint);
  }
  return out;
}

/** The group of a slot (or of one host in it) in a hierarchy. */
export function groupDir(h: Hierarchy, slot: number, host?: string): string {
  return join(h.mount, h.own, GROUP, `slot-${slot}`, ...(host ? [host] : []));
}

/** Creates a host's group in every hierarchy; returns the cgroup.procs files to move nspawn into. */
export async function createHostGroups(slot: number, host: string): Promise<string[]> {
  const procs: string[] = [];
  for (const h of hierarchies()) {
    const dir = groupDir(h, slot, host);
    await mkdir(dir, { recursive: true });
    if (h.controllers.split(',').includes('cpuset')) await inheritCpuset(h, dir);
    procs.push(join(dir, 'cgroup.procs'));
  }
  return procs;
}

/** A new v1 cpuset group has no CPUs or memory nodes: copy them down from the runner's group. */
async function inheritCpuset(h: Hierarchy, leaf: string): Promise<void> {
  const top = join(h.mount, h.own);
  let dir = top;
  for (const part of leaf.slice(top.length).split('/').filter(Boolean)) {
    const parent = dir;
    dir = join(dir, part);
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const current = (await readFile(join(dir, file), 'utf8')).trim();
      if (current === '') await writeFile(join(dir, file), await readFile(join(parent, file), 'utf8'));
    }
  }
}

/** Pids of every process in a slot's groups (any host), from the named systemd hierarchy or the first one. */
export async function pidsOfSlot(slot: number): Promise<number[]> {
  const pids = new Set<number>();
  for (const h of hierarchies()) for (const pid of await pidsUnder(groupDir(h, slot))) pids.add(pid);
  return [...pids].sort((a, b) => a - b);
}

export async function pidsOfHost(slot: number, host: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const h of hierarchies()) for (const pid of await pidsUnder(groupDir(h, slot, host))) pids.add(pid);
  return [...pids].sort((a, b) => a - b);
}

async function pidsUnder(dir: string): Promise<number[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const pids: number[] = [];
  try {
    for (const line of (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n')) if (line) pids.push(Number(line));
  } catch {
    // removed meanwhile
  }
  for (const e of entries) if (e.isDirectory()) pids.push(...(await pidsUnder(join(dir, e.name))));
  return pids;
}

/** Kills every process in a host's (or slot's) groups until none is left. */
export async function killGroups(slot: number, host?: string, signal?: AbortSignal): Promise<void> {
  for (let round = 0; ; round++) {
    const pids = host ? await pidsOfHost(slot, host) : await pidsOfSlot(slot);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await delay(Math.min(20 * (round + 1), 200), undefined, { signal });
  }
}

/** Removes a slot's (empty) groups, deepest first. */
export async function removeSlotGroups(slot: number): Promise<void> {
  for (const h of hierarchies()) await rmdirTree(groupDir(h, slot));
}

/** Slots that have groups left in any hierarchy. */
export async function slotsWithGroups(): Promise<number[]> {
  const slots = new Set<number>();
  for (const h of hierarchies()) {
    try {
      for (const e of await readdir(join(h.mount, h.own, GROUP))) {
        const m = /^slot-(\d+)$/.exec(e);
        if (m) slots.add(Number(m[1]));
      }
    } catch {
      // no group in this hierarchy
    }
  }
  return [...slots].sort((a, b) => a - b);
}

async function rmdirTree(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await rmdirTree(join(dir, e.name));
  try {
    await rmdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
