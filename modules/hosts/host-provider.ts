import { connect, type HostAccess } from './host-access.ts';
import { HostUnreachableError } from './errors.ts';
import type { HostKeyPin } from './host-key-policy.ts';

/**
 * The SshHost resource: reaches the host once and pins its key into the stack's state on first
 * use (or takes the key the stack gives). Every later run accepts only the pinned key; a
 * changed key fails the refresh with both fingerprints (HostKeyMismatchError).
 */
export interface SshHostInputs {
  readonly name: string;
  readonly address: string;
  readonly user: string;
  readonly port: number;
  /** A pin given by the stack (`hostKey`), instead of trust on first use. */
  readonly pins: readonly HostKeyPin[];
  /**
   * What makes it this machine when infra made it (a VM's disk): another one is a new machine at
   * the same address, with new host keys, so the host is replaced and its key pinned anew.
   */
  readonly machine?: string;
}

export interface SshHostOutputs extends SshHostInputs {
  readonly reachable: boolean;
}

async function pin(inputs: SshHostInputs): Promise<SshHostOutputs> {
  const pinned: HostKeyPin[] = [...inputs.pins];
  const access: HostAccess = { ...inputs };
  const h = await connect(access, { pinOnFirstUse: inputs.pins.length === 0, onPin: (p) => pinned.push(p) });
  await h.close();
  return { ...inputs, pins: pinned, reachable: true };
}

export async function create(inputs: SshHostInputs): Promise<{ id: string; outs: SshHostOutputs }> {
  return { id: inputs.name, outs: await pin(inputs) };
}

export async function read(id: string, props: SshHostOutputs): Promise<{ id: string; props: SshHostOutputs }> {
  try {
    const h = await connect(props, {});
    await h.close();
    return { id, props: { ...props, reachable: true } };
  } catch (err) {
    // Unreachable is a state, not a failed refresh: the hosts that can be reached still go ahead.
    if (err instanceof HostUnreachableError) return { id, props: { ...props, reachable: false } };
    throw err;
  }
}

export function diff(olds: SshHostOutputs, news: SshHostInputs): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  // Another address or port is another machine as far as its key goes: pin again.
  const replaces: string[] = (['address', 'port'] as const).filter((k) => olds[k] !== news[k]);
  // A state from before `machine` existed takes it on as an update, without trusting a new key.
  if (olds.machine !== undefined && olds.machine !== news.machine) replaces.push('machine');
  const givenPinChanged = news.pins.length > 0 && JSON.stringify(news.pins) !== JSON.stringify(olds.pins);
  return { changes: replaces.length > 0 || olds.user !== news.user || olds.machine !== news.machine || givenPinChanged, replaces: givenPinChanged ? [...replaces, 'pins'] : replaces, deleteBeforeReplace: true };
}

export async function update(_id: string, olds: SshHostOutputs, news: SshHostInputs): Promise<{ outs: SshHostOutputs }> {
  return { outs: { ...news, pins: news.pins.length > 0 ? news.pins : olds.pins, reachable: olds.reachable } };
}

export async function remove(): Promise<void> {}
