import { join } from 'node:path';

/**
 * Names and addresses of one run of SSH test hosts, all derived from its slot number, so a
 * cleanup that knows only the slot (a crashed run's leftovers) finds everything the run made.
 *
 * Slot n owns the subnet 10.213.n.0/24: the runner's end of the uplink (in the root network
 * namespace) is 10.213.n.1, host i is 10.213.n.(10+i). Nothing else is ever addressed.
 */
export const SLOT_MIN = 1;
export const SLOT_MAX = 200;
export const NETNS_PREFIX = 'infra-th';
/** Root-netns end of a run's uplink veth: `ith<n>` (Linux allows 15 characters). */
export const UPLINK_PREFIX = 'ith';

export interface SlotLayout {
  readonly slot: number;
  /** The run's state: keys, per-host overlay layers, pid files. */
  readonly dir: string;
  /** Lock directory held by the live run (pid + start time). */
  readonly lock: string;
  /** Network namespace holding the bridge all hosts of the run hang on. */
  readonly lanNetns: string;
  readonly bridge: string;
  readonly uplink: string;
  readonly gateway: string;
  readonly prefixLength: number;
}

export interface HostLayout {
  readonly name: string;
  readonly index: number;
  readonly address: string;
  readonly netns: string;
  /** The host's end of its link, on the run's bridge (in the LAN namespace). */
  readonly bridgePort: string;
  readonly dir: string;
  readonly rootDir: string;
  readonly upperDir: string;
  readonly workDir: string;
  /** Bind-mounted over /var/lib/{containerd,kubelet,etcd}: overlayfs cannot nest on overlayfs. */
  readonly dataDir: string;
  readonly pidFile: string;
  readonly consoleLog: string;
}

/**
 * Where runs keep their state (overlay layers, data dirs, keys: on the real disk) and where the
 * slot locks live. Fixed places per machine, like the namespaces and cgroups they go with
 * (/run/netns is machine-wide too): runs with different homes never take each other's slot,
 * and a cleanup always finds what a crashed run left.
 */
export const TEST_HOSTS_DIR = '/var/tmp/infra-testhosts';
export const SLOT_LOCK_DIR = '/run/infra-testhosts';

export function slotLayout(slot: number): SlotLayout {
  const base = TEST_HOSTS_DIR;
  return {
    slot,
    dir: join(base, `slot-${slot}`),
    lock: join(SLOT_LOCK_DIR, `slot-${slot}.lock`),
    lanNetns: `${NETNS_PREFIX}${slot}-lan`,
    bridge: 'lan0',
    uplink: `${UPLINK_PREFIX}${slot}`,
    gateway: `10.213.${slot}.1`,
    prefixLength: 24,
  };
}

export function hostLayout(slot: SlotLayout, name: string, index: number): HostLayout {
  const dir = join(slot.dir, 'hosts', name);
  return {
    name,
    index,
    address: `10.213.${slot.slot}.${10 + index}`,
    netns: `${NETNS_PREFIX}${slot.slot}-h${index}`,
    bridgePort: `h${index}`,
    dir,
    rootDir: join(dir, 'root'),
    upperDir: join(dir, 'upper'),
    workDir: join(dir, 'work'),
    dataDir: join(dir, 'data'),
    pidFile: join(dir, 'nspawn.pid'),
    consoleLog: join(dir, 'console.log'),
  };
}

/** The slot a leftover name belongs to (`infra-th7-lan`, `infra-th7-h2`, `ith7`, `slot-7`), if any. */
export function slotOfName(name: string): number | undefined {
  const m = new RegExp(`^(?:${NETNS_PREFIX}(\\d+)-(?:lan|h\\d+)|${UPLINK_PREFIX}(\\d+)|slot-(\\d+)(?:\\.lock)?)$`).exec(name);
  const n = Number(m?.[1] ?? m?.[2] ?? m?.[3]);
  return Number.isInteger(n) && n >= SLOT_MIN && n <= SLOT_MAX ? n : undefined;
}
