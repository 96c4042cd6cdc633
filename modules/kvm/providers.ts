import { readFile } from 'node:fs/promises';
import { notePreview } from '../engine/preview-note.ts';
import { KvmInputError, LibvirtError, VmNotReadyError } from './errors.ts';
import { deleteVolume, ensureMemoryFor, fileSha256, imageFormat, poolPathMissing, shutDown, uploadVolume, virtTypeAvailable, waitForLease, waitForSsh } from './ops.ts';
import { seedFiles, seedHash, writeSeedIso, type SeedFiles, type SeedSpec } from './seed.ts';
import { libvirtOf, type LibvirtConnection } from './virsh.ts';
import { diskVolumeXml, domainXml, networkXml, ownerOf, poolXml, type DomainSpec, type NetworkSpec, type StaticLease } from './xml.ts';

/**
 * The KVM resources' provider logic (loaded lazily by resources.ts): create, diff, update and
 * delete per resource, each through `virsh -c <uri>`. Diffs are pure.
 */
type Diff = { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean };

function changed<T extends object>(olds: T, news: T, keys: readonly (keyof T)[]): string[] {
  return keys.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k])).map(String);
}

// ---- StoragePool (dir) ----
export interface PoolInputs extends LibvirtConnection {
  readonly uri: string;
  readonly name: string;
  readonly path: string;
}

export async function poolCreate(i: PoolInputs): Promise<{ id: string; outs: PoolInputs }> {
  const lv = libvirtOf(i);
  const res = `pool ${i.name}`;
  const existing = await lv.probe(['pool-dumpxml', i.name]);
  if (existing.ok) {
    const path = /<path>([^<]*)<\/path>/.exec(existing.stdout)?.[1];
    if (path !== i.path) throw new KvmInputError(`a pool named ${i.name} already exists with path ${path ?? '?'}`, { where: `${res} on ${i.uri}`, hint: 'rename the site or remove that pool' });
  } else {
    await lv.withXml('pool-define', poolXml(i), [], res);
  }
  const active = /^State:\s+running/m.test((await lv.run(['pool-info', i.name], res)).replace(/^\s+/gm, ''));
  if (!active) {
    const r = await lv.probe(['pool-start', i.name]);
    if (!r.ok) {
      if (!existing.ok) await lv.probe(['pool-undefine', i.name]);
      if (/No such file|cannot open directory|does not exist/i.test(r.message)) throw poolPathMissing(r.message, i.path, `${res} on ${i.uri}`);
      throw new LibvirtError(`pool-start failed: ${r.message}`, { uri: i.uri, resource: res });
    }
  }
  await lv.run(['pool-autostart', i.name], res);
  return { id: i.name, outs: i };
}

export function poolDiff(olds: PoolInputs, news: PoolInputs): Diff {
  const replaces = changed(olds, news, ['uri', 'name', 'path']);
  return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
}

export async function poolDelete(_id: string, o: PoolInputs): Promise<void> {
  const lv = libvirtOf(o);
  // The directory and anything infra did not make stay; only the pool's definition goes.
  if ((await lv.probe(['pool-info', o.name])).ok) {
    await lv.probe(['pool-destroy', o.name]);
    await lv.run(['pool-undefine', o.name], `pool ${o.name}`);
  }
}

// ---- BaseVolume (uploaded from a local file) ----
export interface BaseVolumeInputs extends LibvirtConnection {
  readonly uri: string;
  readonly pool: string;
  readonly name: string;
  readonly source: string;
}
export interface BaseVolumeOutputs extends BaseVolumeInputs {
  readonly sha256: string;
  readonly format: 'qcow2' | 'raw';
  readonly path: string;
}

export async function baseVolumeCheck(news: BaseVolumeInputs): Promise<BaseVolumeInputs & { sha256: string }> {
  // The content address is part of the inputs, so another file with the same name is a replace.
  return { ...news, sha256: await fileSha256(news.source) };
}

export async function baseVolumeCreate(i: BaseVolumeInputs & { sha256: string }): Promise<{ id: string; outs: BaseVolumeOutputs }> {
  const lv = libvirtOf(i);
  const res = `volume ${i.pool}/${i.name}`;
  if ((await lv.probe(['vol-info', '--pool', i.pool, i.name])).ok) throw new KvmInputError(`volume ${i.name} already exists in pool ${i.pool}`, { where: `${res} on ${i.uri}`, hint: 'infra does not overwrite volumes it did not make: remove it or rename the image' });
  const path = await uploadVolume(lv, i.pool, i.name, i.source, res);
  return { id: `${i.pool}/${i.name}`, outs: { ...i, format: await imageFormat(i.source), path } };
}

export function baseVolumeDiff(olds: BaseVolumeOutputs, news: BaseVolumeInputs & { sha256: string }): Diff {
  const replaces = changed(olds, news, ['uri', 'pool', 'name', 'sha256']);
  return { changes: replaces.length > 0 || olds.source !== news.source, replaces, deleteBeforeReplace: true };
}

export async function baseVolumeDelete(_id: string, o: BaseVolumeOutputs): Promise<void> {
  await deleteVolume(libvirtOf(o), o.pool, o.name, `volume ${o.pool}/${o.name}`);
}

// ---- Disk (qcow2 on a backing file, resizable) ----
export interface DiskInputs extends LibvirtConnection {
  readonly uri: string;
  readonly pool: string;
  readonly name: string;
  readonly capacityGiB: number;
  readonly backingPath: string;
  readonly backingFormat: 'qcow2' | 'raw';
}
export interface DiskOutputs extends DiskInputs {
  readonly path: string;
}

export async function diskCreate(i: DiskInputs): Promise<{ id: string; outs: DiskOutputs }> {
  const lv = libvirtOf(i);
  const res = `disk ${i.pool}/${i.name}`;
  if ((await lv.probe(['vol-info', '--pool', i.pool, i.name])).ok) throw new KvmInputError(`volume ${i.name} already exists in pool ${i.pool}`, { where: `${res} on ${i.uri}`, hint: 'infra does not overwrite volumes it did not make: remove it' });
  await lv.withXml('vol-create', diskVolumeXml(i), [i.pool], res);
  const path = (await lv.run(['vol-path', '--pool', i.pool, i.name], res)).trim();
  return { id: `${i.pool}/${i.name}`, outs: { ...i, path } };
}

export function diskDiff(olds: DiskOutputs, news: DiskInputs): Diff {
  const replaces = changed(olds, news, ['uri', 'pool', 'name', 'backingPath', 'backingFormat']);
  // Growing is an update (vol-resize); shrinking would lose data: a new disk.
  if (news.capacityGiB < olds.capacityGiB) replaces.push('capacityGiB');
  return { changes: replaces.length > 0 || news.capacityGiB !== olds.capacityGiB, replaces, deleteBeforeReplace: true };
}

export async function diskUpdate(_id: string, olds: DiskOutputs, news: DiskInputs): Promise<{ outs: DiskOutputs }> {
  if (news.capacityGiB > olds.capacityGiB) await libvirtOf(news).run(['vol-resize', '--pool', news.pool, news.name, `${news.capacityGiB}G`], `disk ${news.pool}/${news.name}`);
  return { outs: { ...news, path: olds.path } };
}

export async function diskDelete(_id: string, o: DiskOutputs): Promise<void> {
  await deleteVolume(libvirtOf(o), o.pool, o.name, `disk ${o.pool}/${o.name}`);
}

// ---- CloudInitSeed (NoCloud ISO, content-addressed) ----
export interface SeedInputs extends SeedSpec, LibvirtConnection {
  readonly uri: string;
  readonly pool: string;
  /** The VM's name; the volume is `<vm>-seed-<hash>.iso`. */
  readonly vm: string;
}
export interface SeedOutputs extends SeedInputs {
  readonly volume: string;
  readonly path: string;
  readonly files: SeedFiles;
}

export async function seedCreate(i: SeedInputs): Promise<{ id: string; outs: SeedOutputs }> {
  const lv = libvirtOf(i);
  const files = seedFiles(i);
  const volume = `${i.vm}-seed-${seedHash(files)}.iso`;
  const res = `seed ${i.pool}/${volume}`;
  const iso = await writeSeedIso(files);
  try {
    await deleteVolume(lv, i.pool, volume, res); // same name = same content: a leftover of an interrupted run
    const path = await uploadVolume(lv, i.pool, volume, iso.path, res);
    return { id: `${i.pool}/${volume}`, outs: { ...i, volume, path, files } };
  } finally {
    await iso.cleanup();
  }
}

export function seedDiff(olds: SeedOutputs, news: SeedInputs): Diff {
  const replaces = changed(olds, news, ['uri', 'pool', 'vm', 'hostname', 'user', 'sshPublicKey', 'mac', 'network']);
  return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
}

export async function seedDelete(_id: string, o: SeedOutputs): Promise<void> {
  await deleteVolume(libvirtOf(o), o.pool, o.volume, `seed ${o.pool}/${o.volume}`);
}

// ---- Network (NAT, DHCP range, static leases) ----
export interface NetworkInputs extends NetworkSpec, LibvirtConnection {
  readonly uri: string;
}

export interface NetworkOutputs extends NetworkInputs {
  /** libvirt's UUID of the network infra defined: delete removes only that one. */
  readonly uuid: string;
}

export async function networkCreate(i: NetworkInputs): Promise<{ id: string; outs: NetworkOutputs }> {
  const lv = libvirtOf(i);
  const res = `network ${i.name}`;
  // libvirt 9.0 keeps no metadata on networks: a network of this name that is not in the
  // state (its UUID) is not infra's, and is left alone.
  if ((await lv.probe(['net-uuid', i.name])).ok) throw new KvmInputError(`a network named ${i.name} exists and was not made by this stack; it is left untouched`, { where: `${res} on ${i.uri}`, hint: 'rename the site or remove that network' });
  await lv.withXml('net-define', networkXml(i), [], res);
  const uuid = (await lv.run(['net-uuid', i.name], res)).trim();
  try {
    await lv.run(['net-start', i.name], res);
  } catch (err) {
    await lv.probe(['net-undefine', i.name]);
    throw err;
  }
  await lv.run(['net-autostart', i.name], res);
  return { id: i.name, outs: { ...i, uuid } };
}

export function networkDiff(olds: NetworkInputs, news: NetworkInputs): Diff {
  const replaces = changed(olds, news, ['uri', 'name', 'cidr', 'dhcpStart', 'dhcpEnd', 'forward']);
  return { changes: replaces.length > 0 || changed(olds, news, ['leases']).length > 0, replaces, deleteBeforeReplace: true };
}

/** Static leases change live (net-update), the network stays up. */
export async function networkUpdate(_id: string, olds: NetworkOutputs, news: NetworkInputs): Promise<{ outs: NetworkOutputs }> {
  const lv = libvirtOf(news);
  const key = (l: StaticLease) => `${l.mac} ${l.name} ${l.ip}`;
  const oldKeys = new Set(olds.leases.map(key));
  const newKeys = new Set(news.leases.map(key));
  const hostXml = (l: StaticLease) => `<host mac='${l.mac}' name='${l.name}' ip='${l.ip}'/>`;
  for (const l of olds.leases) if (!newKeys.has(key(l))) await lv.run(['net-update', news.name, 'delete', 'ip-dhcp-host', hostXml(l), '--live', '--config'], `network ${news.name}`);
  for (const l of news.leases) if (!oldKeys.has(key(l))) await lv.run(['net-update', news.name, 'add', 'ip-dhcp-host', hostXml(l), '--live', '--config'], `network ${news.name}`);
  return { outs: { ...news, uuid: olds.uuid } };
}

export async function networkDelete(_id: string, o: NetworkOutputs): Promise<void> {
  const lv = libvirtOf(o);
  const r = await lv.probe(['net-uuid', o.name]);
  if (!r.ok || r.stdout.trim() !== o.uuid) return; // gone, or another network by now: never touched
  await lv.probe(['net-destroy', o.name]);
  await lv.run(['net-undefine', o.name], `network ${o.name}`);
}

// ---- Domain (the VM) ----
export interface DomainInputs extends DomainSpec, LibvirtConnection {
  readonly uri: string;
  readonly autostart: boolean;
  /** How long to wait for the DHCP lease and SSH after a start. */
  readonly bootTimeoutSeconds: number;
}
export interface DomainOutputs extends DomainInputs {
  readonly address: string;
  /** Seconds from start to SSH answering, last time it was started. */
  readonly bootSeconds: number;
}

const REPLACE_KEYS = ['virtType', 'uri', 'name', 'diskPath', 'seedPath', 'network', 'mac', 'kernel', 'initrd', 'cmdline', 'owner', 'consoleLog'] as const;

async function refuseForeign(i: DomainInputs, res: string): Promise<boolean> {
  const lv = libvirtOf(i);
  const r = await lv.probe(['dumpxml', i.name]);
  if (!r.ok) return false;
  const owner = ownerOf(r.stdout);
  if (owner !== i.owner) {
    throw new KvmInputError(`a domain named ${i.name} exists and ${owner ? `belongs to ${owner}` : 'was not made by infra'}; it is left untouched`, { where: `${res} on ${i.uri}`, hint: 'rename the host in the stack or remove that domain' });
  }
  return true;
}

async function bootAndWait(i: DomainInputs, res: string, started: number): Promise<{ address: string; bootSeconds: number }> {
  const lv = libvirtOf(i);
  const timeoutMs = i.bootTimeoutSeconds * 1000;
  try {
    const address = await waitForLease(lv, i.network, i.mac, res, { timeoutMs });
    await waitForSsh(address, 22, res, { timeoutMs: Math.max(1000, timeoutMs - (Date.now() - started)) });
    return { address, bootSeconds: Math.round((Date.now() - started) / 100) / 10 };
  } catch (err) {
    if (!(err instanceof VmNotReadyError)) throw err;
    throw new VmNotReadyError(`${err.message}${await consoleTail(i)}`, { where: `${res} on ${i.uri}`, hint: `see the VM's console log ${i.consoleLog} on the libvirt host` });
  }
}

/** The last lines the VM printed, when its console log is on this machine (a local libvirt): for the error. */
async function consoleTail(i: DomainInputs): Promise<string> {
  if (!isLocalUri(i.uri)) return '';
  const text = await readFile(i.consoleLog, 'utf8').catch(() => '');
  // eslint-disable-next-line no-control-regex -- the console's colour codes
  const lines = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.length === 0 ? '' : `; its console's last lines: ${lines.slice(-5).join(' | ')}`;
}

function isLocalUri(uri: string): boolean {
  return /^qemu:\/\/\/(system|session)\b/.test(uri);
}

/** How long a guest gets to stop after the power button before it is powered off hard. */
const SHUTDOWN_TIMEOUT_MS = 180_000;

export async function domainCreate(i: DomainInputs): Promise<{ id: string; outs: DomainOutputs }> {
  const lv = libvirtOf(i);
  const res = `domain ${i.name}`;
  // Only a leftover of infra's own (an interrupted create) is replaced; anything else is refused.
  if (await refuseForeign(i, res)) {
    await lv.probe(['destroy', i.name]);
    await lv.run(['undefine', i.name], res);
  }
  if (i.virtType === 'kvm' && !(await virtTypeAvailable(lv, 'kvm'))) throw new KvmInputError('the libvirt host has no KVM', { where: `${res} on ${i.uri}`, hint: 'set the site\'s accel: tcg (software emulation, slow)' });
  await ensureMemoryFor(lv, i.memoryMiB, i.name, `${res} on ${i.uri}`);
  await lv.withXml('define', domainXml(i), [], res);
  await lv.run(['autostart', ...(i.autostart ? [] : ['--disable']), i.name], res);
  const started = Date.now();
  await lv.run(['start', i.name], res);
  const up = await bootAndWait(i, res, started);
  return { id: i.name, outs: { ...i, ...up } };
}

const UPDATE_KEYS = ['vcpus', 'memoryMiB', 'autostart', 'bootTimeoutSeconds'] as const;

export function domainDiff(olds: DomainOutputs, news: DomainInputs): Diff {
  const replaces = changed(olds as DomainInputs, news, REPLACE_KEYS);
  const updates = changed(olds as DomainInputs, news, UPDATE_KEYS);
  return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: true };
}

/** During `infra preview`: what an in-place update of the domain does (a restart or not), under its line of the plan. */
export async function noteDomainPreview(olds: DomainOutputs, news: DomainInputs): Promise<void> {
  const d = domainDiff(olds, news);
  if (d.changes && d.replaces.length === 0) await notePreview(`kvm-vm:${news.name}`, () => domainUpdateSteps(olds, news));
}

/** What an update does to the VM, for `infra preview` (pure). */
export function domainUpdateSteps(olds: Pick<DomainInputs, 'vcpus' | 'memoryMiB' | 'autostart'>, news: Pick<DomainInputs, 'vcpus' | 'memoryMiB' | 'autostart'>): string[] {
  const what = [
    ...(olds.memoryMiB !== news.memoryMiB ? [`memory ${olds.memoryMiB} → ${news.memoryMiB} MiB`] : []),
    ...(olds.vcpus !== news.vcpus ? [`vCPUs ${olds.vcpus} → ${news.vcpus}`] : []),
    ...(olds.autostart !== news.autostart ? [`autostart ${news.autostart ? 'on' : 'off'}`] : []),
  ];
  const how = domainUpdateNeedsRestart(olds, news)
    ? 'restart: a clean shutdown, then start (the disk is kept)'
    : news.memoryMiB < olds.memoryMiB
      ? 'no restart: memory given back live through the balloon'
      : 'no restart';
  return what.length === 0 ? [how] : [`${what.join(', ')}; ${how}`];
}

/** What an update of a running VM needs: more memory than it booted with, or other vCPUs, need a restart. */
export function domainUpdateNeedsRestart(olds: Pick<DomainInputs, 'vcpus' | 'memoryMiB'>, news: Pick<DomainInputs, 'vcpus' | 'memoryMiB'>): boolean {
  return news.memoryMiB > olds.memoryMiB || news.vcpus !== olds.vcpus;
}

export async function domainUpdate(_id: string, olds: DomainOutputs, news: DomainInputs): Promise<{ outs: DomainOutputs }> {
  const lv = libvirtOf(news);
  const res = `domain ${news.name}`;
  const uuid = (await lv.run(['domuuid', news.name], res)).trim();
  const running = /running/.test(await lv.run(['domstate', news.name], res));
  // A running VM gives its old memory back when it restarts; a stopped one needs all of it.
  await ensureMemoryFor(lv, running ? news.memoryMiB - olds.memoryMiB : news.memoryMiB, news.name, `${res} on ${news.uri}`);
  await lv.withXml('define', domainXml({ ...news, uuid }), [], res);
  await lv.run(['autostart', ...(news.autostart ? [] : ['--disable']), news.name], res);
  let up = { address: olds.address, bootSeconds: olds.bootSeconds };
  if (running && domainUpdateNeedsRestart(olds, news)) {
    await shutDown(lv, news.name, res, { timeoutMs: SHUTDOWN_TIMEOUT_MS });
    const started = Date.now();
    await lv.run(['start', news.name], res);
    up = await bootAndWait(news, res, started);
  } else if (running && news.memoryMiB < olds.memoryMiB) {
    await lv.run(['setmem', news.name, `${news.memoryMiB}M`, '--live'], res);
  } else if (!running) {
    const started = Date.now();
    await lv.run(['start', news.name], res);
    up = await bootAndWait(news, res, started);
  }
  return { outs: { ...news, ...up } };
}

export async function domainDelete(_id: string, o: DomainOutputs): Promise<void> {
  const lv = libvirtOf(o);
  const r = await lv.probe(['dumpxml', o.name]);
  if (!r.ok || ownerOf(r.stdout) !== o.owner) return; // gone, or not ours any more: never touched
  await lv.probe(['destroy', o.name]);
  await lv.run(['undefine', o.name], `domain ${o.name}`);
}
