import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, tail } from '../../clusters/host/command.ts';
import { KvmInputError } from './errors.ts';

/**
 * A cloud-init NoCloud seed: meta-data (instance id, hostname), user-data (one user with the
 * SSH key and passwordless sudo, no package installs or upgrades) and network-config (v2: DHCP
 * or a static address). Pure; the ISO is made by `writeSeedIso` (xorriso, volume label cidata).
 * The seed is content-addressed: its name carries the hash of the three files.
 */
export interface SeedSpec {
  readonly hostname: string;
  readonly user: string;
  readonly sshPublicKey: string;
  /** The NIC's MAC: the network config matches it and names the interface eth0. */
  readonly mac: string;
  readonly network: { readonly mode: 'dhcp' } | { readonly mode: 'static'; readonly address: string; readonly gateway: string; readonly dns: readonly string[] };
}

export interface SeedFiles {
  readonly 'meta-data': string;
  readonly 'user-data': string;
  readonly 'network-config': string;
}

export function seedFiles(s: SeedSpec): SeedFiles {
  const q = (v: string) => JSON.stringify(v); // JSON strings are YAML strings
  const userData = [
    '#cloud-config',
    `hostname: ${q(s.hostname)}`,
    `fqdn: ${q(s.hostname)}`,
    'manage_etc_hosts: true',
    // No ssh_pwauth: setting it makes cloud-init restart sshd after boot (a refused connection
    // right after SSH first answered); the image's sshd and locked passwords already refuse them.
    'disable_root: false',
    'package_update: false',
    'package_upgrade: false',
    ...(s.user === 'root'
      ? ['users: []', 'ssh_authorized_keys:', `  - ${q(s.sshPublicKey.trim())}`]
      : [
          'users:',
          `  - name: ${q(s.user)}`,
          '    shell: /bin/bash',
          "    sudo: 'ALL=(ALL) NOPASSWD:ALL'",
          '    lock_passwd: true',
          '    ssh_authorized_keys:',
          `      - ${q(s.sshPublicKey.trim())}`,
        ]),
    '',
  ].join('\n');
  const net =
    s.network.mode === 'dhcp'
      ? ['version: 2', 'ethernets:', '  eth0:', `    match: {macaddress: ${q(s.mac)}}`, '    set-name: eth0', '    dhcp4: true', '']
      : [
          'version: 2',
          'ethernets:',
          '  eth0:',
          `    match: {macaddress: ${q(s.mac)}}`,
          '    set-name: eth0',
          `    addresses: [${q(s.network.address)}]`,
          `    gateway4: ${q(s.network.gateway)}`,
          `    nameservers: {addresses: [${s.network.dns.map(q).join(', ')}]}`,
          '',
        ];
  const files: Omit<SeedFiles, 'meta-data'> = { 'user-data': userData, 'network-config': net.join('\n') };
  const instance = seedHash({ ...files, 'meta-data': s.hostname });
  return { 'meta-data': `instance-id: ${q(`${s.hostname}-${instance}`)}\nlocal-hostname: ${q(s.hostname)}\n`, ...files };
}

/** 12 hex digits of the SHA-256 over the seed's files (names and contents). */
export function seedHash(files: SeedFiles): string {
  const h = createHash('sha256');
  for (const k of ['meta-data', 'user-data', 'network-config'] as const) h.update(`${k}\0${files[k]}\0`);
  return h.digest('hex').slice(0, 12);
}

/** Writes the seed as an ISO 9660 image labelled `cidata` (what NoCloud looks for) and returns its path. */
export async function writeSeedIso(files: SeedFiles, signal?: AbortSignal): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-seed-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const content = join(dir, 'content');
    await runCommand('mkdir', ['-m', '0700', content]);
    for (const [name, text] of Object.entries(files)) await writeFile(join(content, name), text, { mode: 0o600 });
    const iso = join(dir, 'seed.iso');
    const r = await runCommand('xorriso', ['-as', 'mkisofs', '-quiet', '-volid', 'cidata', '-joliet', '-rock', '-output', iso, content], signal ? { signal } : {});
    if (r.code !== 0) throw new KvmInputError(`making the cloud-init seed ISO failed: ${tail(r.stderr, 3)}`, { where: 'xorriso', hint: 'install xorriso' });
    return { path: iso, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
