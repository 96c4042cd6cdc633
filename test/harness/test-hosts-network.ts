import { readdir } from 'node:fs/promises';
import { attempt, must } from './test-hosts-exec.ts';
import type { HostLayout, SlotLayout } from './test-hosts-layout.ts';
import { NETNS_PREFIX, UPLINK_PREFIX } from './test-hosts-layout.ts';

/**
 * The network of one run: a namespace holding a bridge (the hosts' LAN), one veth from the
 * root namespace into it (so the test runner reaches 10.213.n.0/24 and nothing else is routed
 * there), and per host a namespace whose eth0 is a veth port on that bridge. The root
 * namespace does not forward (ip_forward stays as it is, 0 here): hosts reach each other and
 * the runner, never the internet.
 */
export async function createLan(slot: SlotLayout): Promise<void> {
  const where = `test hosts slot ${slot.slot}`;
  await must('ip', ['netns', 'add', slot.lanNetns], where);
  await must('ip', ['-n', slot.lanNetns, 'link', 'set', 'lo', 'up'], where);
  await must('ip', ['-n', slot.lanNetns, 'link', 'add', slot.bridge, 'type', 'bridge'], where);
  await must('ip', ['-n', slot.lanNetns, 'link', 'set', slot.bridge, 'up'], where);
  await must('ip', ['link', 'add', slot.uplink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', slot.lanNetns], where);
  await must('ip', ['-n', slot.lanNetns, 'link', 'set', 'uplink', 'master', slot.bridge, 'up'], where);
  // An isolated bridge port talks only to non-isolated ones: a host whose port is isolated too
  // (hideFromRunner) is reachable from the other hosts (a jump host) but not from the runner.
  await must('bridge', ['-n', slot.lanNetns, 'link', 'set', 'dev', 'uplink', 'isolated', 'on'], where);
  await must('ip', ['addr', 'add', `${slot.gateway}/${slot.prefixLength}`, 'dev', slot.uplink], where);
  await must('ip', ['link', 'set', slot.uplink, 'up'], where);
}

/** A host's own namespace and its port on the LAN, with its address and a default route to the runner. */
export async function attachHost(slot: SlotLayout, host: HostLayout): Promise<void> {
  const where = `test host ${host.name} (${host.address})`;
  await must('ip', ['netns', 'add', host.netns], where);
  await must('ip', ['-n', host.netns, 'link', 'set', 'lo', 'up'], where);
  await must('ip', ['-n', slot.lanNetns, 'link', 'add', host.bridgePort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns], where);
  await must('ip', ['-n', slot.lanNetns, 'link', 'set', host.bridgePort, 'master', slot.bridge, 'up'], where);
  await must('ip', ['-n', host.netns, 'addr', 'add', `${host.address}/${slot.prefixLength}`, 'dev', 'eth0'], where);
  await must('ip', ['-n', host.netns, 'link', 'set', 'eth0', 'up'], where);
  // Kubernetes components pick the node IP from the default route; the runner does not forward.
  await must('ip', ['-n', host.netns, 'route', 'add', 'default', 'via', slot.gateway], where);
}

/** Cuts (down) or restores (up) a host's link: the host keeps running, nobody reaches it. */
export async function setHostLink(slot: SlotLayout, host: HostLayout, state: 'up' | 'down'): Promise<void> {
  await must('ip', ['-n', slot.lanNetns, 'link', 'set', host.bridgePort, state], `test host ${host.name}`);
}

/** Hides a host from the runner (on) or shows it again (off); the other hosts reach it either way. */
export async function setHiddenFromRunner(slot: SlotLayout, host: HostLayout, hidden: boolean): Promise<void> {
  await must('bridge', ['-n', slot.lanNetns, 'link', 'set', 'dev', host.bridgePort, 'isolated', hidden ? 'on' : 'off'], `test host ${host.name}`);
}

/** Removes every namespace and the uplink of a slot; what is already gone is skipped. */
export async function removeSlotNetwork(slot: number): Promise<void> {
  for (const ns of await namespacesOfSlot(slot)) await attempt('ip', ['netns', 'delete', ns]);
  // Deleting the LAN namespace destroys the peer, and with it the uplink; this is for a half-made one.
  await attempt('ip', ['link', 'delete', `${UPLINK_PREFIX}${slot}`]);
}

/** Named network namespaces of the harness (all slots), from /run/netns. */
export async function harnessNamespaces(): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir('/run/netns');
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(NETNS_PREFIX)).sort();
}

/** Root-namespace uplinks of the harness (all slots). */
export async function harnessUplinks(): Promise<string[]> {
  const names = await readdir('/sys/class/net');
  return names.filter((n) => new RegExp(`^${UPLINK_PREFIX}\\d+$`).test(n)).sort();
}

async function namespacesOfSlot(slot: number): Promise<string[]> {
  const own = new RegExp(`^${NETNS_PREFIX}${slot}-(lan|h\\d+)$`);
  // Host namespaces first: their ports live in the LAN namespace.
  return (await harnessNamespaces()).filter((n) => own.test(n)).sort((a, b) => Number(a.endsWith('-lan')) - Number(b.endsWith('-lan')));
}
