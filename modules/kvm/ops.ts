import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { KvmInputError, VmNotReadyError } from './errors.ts';
import { memoryShortfall, parseNodeMemStats } from './host-memory.ts';
import type { Libvirt } from './virsh.ts';

/** Effects shared by the KVM resources (each one virsh call or a wait). */

/** sha256 of a local file (the base image's content address). */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** qcow2 or raw, from the file's magic bytes. */
export async function imageFormat(path: string): Promise<'qcow2' | 'raw'> {
  const f = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    await f.read(b, 0, 4, 0);
    return b.toString('latin1') === 'QFI\xfb' ? 'qcow2' : 'raw';
  } finally {
    await f.close();
  }
}

/** Creates a volume in a pool and uploads a local file into it; returns the volume's path. */
export async function uploadVolume(lv: Libvirt, pool: string, name: string, file: string, resource: string, signal?: AbortSignal): Promise<string> {
  const size = (await stat(file)).size;
  const o = signal ? { signal } : {};
  await lv.run(['vol-create-as', pool, name, String(size), '--format', 'raw'], resource, o);
  try {
    await lv.run(['vol-upload', '--pool', pool, name, file], resource, o);
  } catch (err) {
    await lv.probe(['vol-delete', '--pool', pool, name]);
    throw err;
  }
  return (await lv.run(['vol-path', '--pool', pool, name], resource, o)).trim();
}

export async function deleteVolume(lv: Libvirt, pool: string, name: string, resource: string): Promise<void> {
  const exists = await lv.probe(['vol-info', '--pool', pool, name]);
  if (exists.ok) await lv.run(['vol-delete', '--pool', pool, name], resource);
}

/** Whether the libvirt host offers this virtualisation type (kvm: /dev/kvm is there; it may still not work nested). */
export async function virtTypeAvailable(lv: Libvirt, type: 'kvm' | 'qemu'): Promise<boolean> {
  return (await lv.probe(['domcapabilities', '--virttype', type])).ok;
}

/** The address the network's DHCP server gave `mac`, waited for. */
export async function waitForLease(lv: Libvirt, network: string, mac: string, resource: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<string> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const out = await lv.run(['net-dhcp-leases', network, '--mac', mac], resource, options.signal ? { signal: options.signal } : {});
    const ip = /\s(\d+\.\d+\.\d+\.\d+)\/\d+\s/.exec(out)?.[1];
    if (ip) return ip;
    if (Date.now() > deadline) {
      throw new VmNotReadyError(`no DHCP lease for ${mac} on network ${network} after ${Math.round(options.timeoutMs / 1000)} s`, { where: resource, hint: 'see the VM\'s console log' });
    }
    await delay(1000, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/**
 * Stops a running domain the way its OS expects: an ACPI power-button press, then waits until it is shut off.
 * A guest that does not stop within `timeoutMs` (no ACPI handling, hung) is powered off hard. Returns how it
 * stopped. A hard power-off loses what the guest had not written to disk yet, so it is the fallback only.
 */
export async function shutDown(lv: Libvirt, name: string, resource: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<'clean' | 'forced'> {
  const signal = options.signal ? { signal: options.signal } : {};
  const off = async () => /shut off/.test((await lv.probe(['domstate', name], signal)).stdout);
  if (await off()) return 'clean';
  await lv.run(['shutdown', '--mode', 'acpi', name], resource, signal);
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await off()) return 'clean';
    await delay(500, undefined, signal);
  }
  if (await off()) return 'clean';
  await lv.run(['destroy', name], resource, signal);
  return 'forced';
}

/** Waits until `address:port` answers with an SSH banner. */
export async function waitForSsh(address: string, port: number, resource: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await sshBanner(address, port)) return;
    if (Date.now() > deadline) {
      throw new VmNotReadyError(`SSH on ${address}:${port} did not answer within ${Math.round(options.timeoutMs / 1000)} s`, { where: resource, hint: 'see the VM\'s console log' });
    }
    await delay(1000, undefined, options.signal ? { signal: options.signal } : {});
  }
}

function sshBanner(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: address, port, timeout: 5000 });
    let got = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (got.startsWith('SSH-')) done(true);
    });
    s.on('timeout', () => done(false));
    s.on('error', () => done(false));
    s.on('close', () => done(got.startsWith('SSH-')));
  });
}

/** A dir pool's path must exist before the pool is started (infra never makes directories on the libvirt host). */
export function poolPathMissing(message: string, path: string, resource: string): KvmInputError {
  return new KvmInputError(`the pool directory ${path} does not exist: ${message}`, { where: resource, hint: `create ${path} on the libvirt host, or set the site's pool to an existing directory` });
}

/**
 * Refuses a VM (or its growth) that the libvirt host has no memory for, before anything is defined.
 * A host whose statistics cannot be read is not judged (libvirt will say what it can).
 */
export async function ensureMemoryFor(lv: Libvirt, needMiB: number, vm: string, resource: string): Promise<void> {
  if (needMiB <= 0) return;
  const stats = await lv.probe(['nodememstats']);
  const host = stats.ok ? parseNodeMemStats(stats.stdout) : undefined;
  const short = host && memoryShortfall(needMiB, host);
  if (short) throw new KvmInputError(short, { where: resource, hint: `give ${vm} less memory (its memoryGiB in the stack), or free memory on the libvirt host` });
}
