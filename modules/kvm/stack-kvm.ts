import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type * as pulumi from '@pulumi/pulumi';
import type { HostSpec, KvmSiteSpec, SiteSpec } from '../../stacks/model.ts';
import { sshConfigPath } from '../hosts/host-access.ts';
import { SshHost } from '../hosts/host-resource.ts';
import type { HostKeyPin } from '../hosts/host-key-policy.ts';
import { resolveTarget } from '../hosts/ssh-config.ts';
import { vmAddress } from '../../stacks/site-hosts.ts';
import { KvmInputError } from './errors.ts';
import { fileSha256 } from './ops.ts';
import { KvmBaseVolume, KvmCloudInitSeed, KvmDisk, KvmDomain, KvmNetwork, KvmPool } from './resources.ts';
import { sshTarget } from './ssh-transport.ts';
import { macFor } from './xml.ts';

/**
 * The resources of one kvm site: its pool (dir), the base image uploaded once, one NAT network
 * (DHCP .100-.199, a static lease per VM at .10+i: stacks/site-hosts.ts), and per host a disk on the base image, a
 * cloud-init seed, the domain, and the SshHost that pins its key once SSH answers. Every host of
 * the site becomes an SSH host like those of an ssh site.
 */
export const VM_DISK_GIB = 8;
export const DEFAULT_MEMORY_MIB = 1024;
export const BOOT_TIMEOUT_SECONDS = 600;
const DEFAULT_CMDLINE = 'root=/dev/vda rw console=ttyS0';

export interface KvmSiteResources {
  readonly domains: Map<string, KvmDomain>;
  readonly sshHosts: Map<string, SshHost>;
}

export async function kvmSiteResources(site: SiteSpec, hosts: readonly HostSpec[], stackName: string): Promise<KvmSiteResources> {
  const kvm = site.kvm;
  const uri = site.uri;
  if (!kvm || !uri) throw new KvmInputError(`kvm site ${site.name} has no uri, pool or image`, { where: `site ${site.name}` });
  if (!existsSync(kvm.image)) throw new KvmInputError(`the image ${kvm.image} does not exist`, { where: `site ${site.name}`, hint: 'build one with test/kvm/build-image.sh or point image at a qcow2 cloud image' });
  const sha = await fileSha256(kvm.image);
  const { conn, after } = libvirtConnection(site.name, uri);
  const pool = new KvmPool(site.name, { ...conn, name: `infra-${site.name}`, path: kvm.pool }, { dependsOn: after });
  const base = new KvmBaseVolume(site.name, { ...conn, pool: `infra-${site.name}`, name: `${site.name}-base-${sha.slice(0, 12)}`, source: kvm.image, sha256: sha }, { dependsOn: [pool] });
  const prefix = kvm.subnet.replace(/\.0\/24$/, '');
  // The stack gave each VM its static lease (stacks/site-hosts.ts); the clusters on them use it too.
  const vms = hosts.map((h, i) => ({ h, ip: h.address ?? vmAddress(kvm.subnet, i), mac: macFor(`${site.name}/${h.name}`) }));
  const netName = `infra-${site.name}`;
  const network = new KvmNetwork(site.name, {
    ...conn,
    name: netName,
    cidr: kvm.subnet,
    dhcpStart: `${prefix}.100`,
    dhcpEnd: `${prefix}.199`,
    leases: vms.map((v) => ({ mac: v.mac, name: v.h.name, ip: v.ip })),
    forward: 'nat',
  }, { dependsOn: after });
  const domains = new Map<string, KvmDomain>();
  const sshHosts = new Map<string, SshHost>();
  for (const { h, ip, mac } of vms) {
    const disk = new KvmDisk(h.name, { ...conn, pool: `infra-${site.name}`, name: `${h.name}-${sha.slice(0, 12)}.qcow2`, capacityGiB: VM_DISK_GIB, backingPath: base.path, backingFormat: base.format }, { dependsOn: [base] });
    const seed = new KvmCloudInitSeed(h.name, { ...conn, pool: `infra-${site.name}`, vm: h.name, hostname: h.name, user: h.user, sshPublicKey: sshPublicKeyFor(ip, h), mac, network: { mode: 'dhcp' } }, { dependsOn: [pool] });
    const domain = new KvmDomain(
      h.name,
      {
        ...conn,
        name: h.name,
        owner: `${stackName}/${site.name}/${h.name}`,
        virtType: kvm.accel === 'tcg' ? 'qemu' : 'kvm',
        vcpus: h.cpus ?? 1,
        memoryMiB: (h.memoryGiB ?? DEFAULT_MEMORY_MIB / 1024) * 1024,
        diskPath: disk.path,
        seedPath: seed.path,
        network: netName,
        mac,
        consoleLog: join(kvm.pool, `${h.name}.console.log`),
        ...kernelBoot(kvm),
        autostart: true,
        bootTimeoutSeconds: BOOT_TIMEOUT_SECONDS,
      },
      { dependsOn: [network, disk, seed], deleteBeforeReplace: true },
    );
    domains.set(h.name, domain);
    // The address is the VM's static lease, known before it boots: an update of the domain
    // never looks like another machine to the Host (whose key stays pinned). A new disk (another
    // image) is another machine with new host keys: the Host is replaced and pins the new key.
    sshHosts.set(h.name, new SshHost(h.name, { name: h.name, address: ip, user: h.user, port: 22, pins: [], machine: disk.path }, { dependsOn: [domain] as pulumi.Resource[] }));
  }
  return { domains, sshHosts };
}

/**
 * How the site's resources reach libvirt. Over `qemu+ssh://` the libvirt host is a `Host` of the
 * SSH layer first (its key checked against known_hosts or pinned in the state, a changed key
 * refused with both fingerprints), and virsh's ssh accepts only the keys it pinned (ssh-transport.ts).
 */
function libvirtConnection(site: string, uri: string): { conn: { uri: string; hostKeys?: pulumi.Output<HostKeyPin[]> }; after: pulumi.Resource[] } {
  const target = sshTarget(uri);
  if (!target) return { conn: { uri }, after: [] };
  // No user in the URI: the ssh config's User for that host, else the local user (as ssh would).
  const user = target.user ?? resolveTarget({ host: target.host, port: target.port }, { configText: sshConfigText(), home: homedir(), localUser: userInfo().username }).user;
  const host = new SshHost(`libvirt-${site}`, { name: `libvirt-${site}`, address: target.host, user, port: target.port ?? 22, pins: [] });
  return { conn: { uri, hostKeys: host.pins }, after: [host] };
}

function kernelBoot(kvm: KvmSiteSpec): { kernel?: string; initrd?: string; cmdline?: string } {
  if (!kvm.kernel) return {};
  return { kernel: kvm.kernel, ...(kvm.initrd ? { initrd: kvm.initrd } : {}), cmdline: kvm.cmdline ?? DEFAULT_CMDLINE };
}

/**
 * The public key cloud-init installs: of the identity the SSH layer will use for this VM (the
 * ssh config's IdentityFile for its address, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa), `.pub`.
 */
export function sshPublicKeyFor(address: string, h: HostSpec): string {
  const resolved = resolveTarget({ host: address, user: h.user, port: 22 }, { configText: sshConfigText(), home: homedir(), localUser: userInfo().username });
  for (const f of resolved.identityFiles) {
    if (existsSync(`${f}.pub`)) return readFileSync(`${f}.pub`, 'utf8').trim();
  }
  throw new KvmInputError(`no SSH public key for VM ${h.name}: none of ${resolved.identityFiles.join(', ')} has a .pub beside it`, { where: `host ${h.name}`, hint: 'make a key with ssh-keygen -t ed25519, or set IdentityFile for the VM\'s address in ~/.ssh/config' });
}

function sshConfigText(): string {
  const path = sshConfigPath();
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}
