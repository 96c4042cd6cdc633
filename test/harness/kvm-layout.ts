import { join } from 'node:path';

/**
 * Names and addresses of one run of the KVM harness, all derived from its slot number, so a
 * cleanup that knows only the slot (a crashed run's leftovers) finds everything the run made.
 *
 * Slot n: network namespace `infra-kvm<n>` holding libvirtd, virtlogd, QEMU and dnsmasq; a veth
 * `ikv<n>` (root namespace, 10.215.n.1/24) ↔ `uplink` (inside, 10.215.n.2/24); the VMs' libvirt
 * network is 10.214.n.0/24 inside the namespace, routed from the root namespace through the veth.
 * Nothing else is addressed and nothing is forwarded to the outside.
 */
export const KVM_SLOT_MIN = 1;
export const KVM_SLOT_MAX = 200;
export const KVM_NETNS_PREFIX = 'infra-kvm';
export const KVM_UPLINK_PREFIX = 'ikv';
export const KVM_DIR = '/var/tmp/infra-kvm';
export const KVM_LOCK_DIR = '/run/infra-kvm';

export interface KvmSlotLayout {
  readonly slot: number;
  /** State of the run: the daemons' private /etc, /run, /var/lib, /var/log and /var/cache of libvirt. */
  readonly dir: string;
  readonly daemonDir: string;
  readonly socket: string;
  /** libvirt connection URI of the run's private libvirtd. */
  readonly uri: string;
  /** Storage for the run's pools (what a stack's pool path points at). */
  readonly poolsDir: string;
  readonly lock: string;
  readonly netns: string;
  readonly uplink: string;
  readonly uplinkAddress: string;
  readonly innerAddress: string;
  /** The subnet the VMs' network uses (a /24); its .1 is the bridge, DHCP hands out .100-.199. */
  readonly vmSubnetPrefix: string;
  readonly daemonLog: string;
}

export function kvmSlotLayout(slot: number): KvmSlotLayout {
  const dir = join(KVM_DIR, `slot-${slot}`);
  const daemonDir = join(dir, 'libvirt');
  const socket = join(daemonDir, 'run', 'libvirt-sock');
  return {
    slot,
    dir,
    daemonDir,
    socket,
    uri: `qemu:///system?socket=${socket}`,
    poolsDir: join(dir, 'pools'),
    lock: join(KVM_LOCK_DIR, `slot-${slot}.lock`),
    netns: `${KVM_NETNS_PREFIX}${slot}`,
    uplink: `${KVM_UPLINK_PREFIX}${slot}`,
    uplinkAddress: `10.215.${slot}.1`,
    innerAddress: `10.215.${slot}.2`,
    vmSubnetPrefix: `10.214.${slot}`,
    daemonLog: join(dir, 'daemons.log'),
  };
}

/** The slot a leftover name belongs to (`infra-kvm7`, `ikv7`, `slot-7`, `slot-7.lock`), if any. */
export function kvmSlotOfName(name: string): number | undefined {
  const m = new RegExp(`^(?:${KVM_NETNS_PREFIX}(\\d+)|${KVM_UPLINK_PREFIX}(\\d+)|slot-(\\d+)(?:\\.lock)?)$`).exec(name);
  const n = Number(m?.[1] ?? m?.[2] ?? m?.[3]);
  return Number.isInteger(n) && n >= KVM_SLOT_MIN && n <= KVM_SLOT_MAX ? n : undefined;
}
