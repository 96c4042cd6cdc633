import { describe, expect, it } from 'vitest';
import { kvmSlotOfName } from '../harness/kvm-layout.ts';
import { diskDiff, domainDiff, domainUpdateNeedsRestart, domainUpdateSteps, seedDiff, type DiskOutputs, type DomainOutputs, type SeedOutputs } from '../../modules/kvm/providers.ts';
import { seedFiles, seedHash } from '../../modules/kvm/seed.ts';
import { libvirtMessage } from '../../modules/kvm/virsh.ts';
import { domainXml, macFor, networkXml, ownerOf, subnetOf } from '../../modules/kvm/xml.ts';

const domain: DomainOutputs = {
  uri: 'qemu:///system', name: 'vm-a', owner: 'vms/lab/vm-a', virtType: 'qemu', vcpus: 1, memoryMiB: 1024,
  diskPath: '/p/vm-a.qcow2', seedPath: '/p/seed.iso', network: 'infra-lab', mac: '52:54:00:01:02:03', consoleLog: '/p/vm-a.log',
  kernel: '/k', initrd: '/i', cmdline: 'root=/dev/vda', autostart: true, bootTimeoutSeconds: 600, address: '10.0.0.10', bootSeconds: 50,
};

describe('kvm XML', () => {
  it('a domain carries its owner, escapes names, and boots the kernel directly when given', () => {
    const xml = domainXml({ ...domain, owner: "a<b>&'c" });
    expect(ownerOf(xml)).toBe("a<b>&'c");
    expect(xml).toContain('<kernel>/k</kernel>');
    expect(xml).toContain("<cpu mode='maximum' check='none'/>");
    expect(domainXml({ ...domain, kernel: undefined })).toContain("<boot dev='hd'/>");
    expect(ownerOf("<domain><name>x</name></domain>")).toBeUndefined();
    expect(domainXml({ ...domain, uuid: 'u-1' })).toContain('<uuid>u-1</uuid>');
    expect(domainXml(domain)).not.toContain('<uuid>');
  });
  it('a network has the gateway, the DHCP range and sorted static leases', () => {
    const xml = networkXml({ name: 'n', cidr: '10.214.3.0/24', dhcpStart: '10.214.3.100', dhcpEnd: '10.214.3.199', forward: 'nat', leases: [{ mac: '52:54:00:00:00:02', name: 'b', ip: '10.214.3.11' }, { mac: '52:54:00:00:00:01', name: 'a', ip: '10.214.3.10' }] });
    expect(xml).toContain("<ip address='10.214.3.1' netmask='255.255.255.0'>");
    expect(xml.indexOf("name='a'")).toBeLessThan(xml.indexOf("name='b'"));
    expect(subnetOf('192.168.0.0/16')).toEqual({ gateway: '192.168.0.1', netmask: '255.255.0.0' });
  });
  it('MACs are stable per name and locally administered', () => {
    expect(macFor('lab/vm-a')).toBe(macFor('lab/vm-a'));
    expect(macFor('lab/vm-a')).not.toBe(macFor('lab/vm-b'));
    expect(macFor('x')).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});

describe('kvm seed', () => {
  const spec = { hostname: 'vm-a', user: 'ops', sshPublicKey: 'ssh-ed25519 AAAA k', mac: '52:54:00:01:02:03', network: { mode: 'dhcp' as const } };
  it('names the user, key, hostname and the NIC by MAC; the hash follows the content', () => {
    const f = seedFiles(spec);
    expect(f['user-data']).toContain('- name: "ops"');
    expect(f['user-data']).toContain('"ssh-ed25519 AAAA k"');
    expect(f['meta-data']).toContain('local-hostname: "vm-a"');
    expect(f['network-config']).toContain('macaddress: "52:54:00:01:02:03"');
    expect(seedHash(f)).toBe(seedHash(seedFiles(spec)));
    expect(seedHash(seedFiles({ ...spec, hostname: 'vm-b' }))).not.toBe(seedHash(f));
    expect(seedFiles({ ...spec, user: 'root' })['user-data']).toContain('users: []');
    expect(seedFiles({ ...spec, network: { mode: 'static', address: '10.0.0.5/24', gateway: '10.0.0.1', dns: ['10.0.0.1'] } })['network-config']).toContain('addresses: ["10.0.0.5/24"]');
  });
});

describe('kvm diffs', () => {
  it('memory and vCPUs update the domain; the image (disk), seed or network replace it', () => {
    expect(domainDiff(domain, { ...domain, memoryMiB: 2048 })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    expect(domainDiff(domain, { ...domain, diskPath: '/p/other.qcow2' }).replaces).toEqual(['diskPath']);
    expect(domainDiff(domain, { ...domain }).changes).toBe(false);
  });
  it('a restart only when memory grows or vCPUs change; shrinking memory is live', () => {
    expect(domainUpdateNeedsRestart(domain, { vcpus: 1, memoryMiB: 2048 })).toBe(true);
    expect(domainUpdateNeedsRestart(domain, { vcpus: 2, memoryMiB: 1024 })).toBe(true);
    expect(domainUpdateNeedsRestart(domain, { vcpus: 1, memoryMiB: 512 })).toBe(false);
  });
  it('preview says what an update changes and whether the VM restarts', () => {
    const was = { vcpus: 1, memoryMiB: 1024, autostart: true };
    expect(domainUpdateSteps(was, { ...was, memoryMiB: 2048 })).toEqual(['memory 1024 → 2048 MiB; restart: a clean shutdown, then start (the disk is kept)']);
    expect(domainUpdateSteps(was, { ...was, memoryMiB: 512, autostart: false })).toEqual(['memory 1024 → 512 MiB, autostart off; no restart: memory given back live through the balloon']);
    expect(domainUpdateSteps(was, { ...was, vcpus: 2 })).toEqual(['vCPUs 1 → 2; restart: a clean shutdown, then start (the disk is kept)']);
    expect(domainUpdateSteps(was, was)).toEqual(['no restart']);
  });
  it('a disk grows in place and is replaced to shrink; a seed is replaced on any change', () => {
    const disk: DiskOutputs = { uri: 'u', pool: 'p', name: 'd', capacityGiB: 8, backingPath: '/b', backingFormat: 'qcow2', path: '/p/d' };
    expect(diskDiff(disk, { ...disk, capacityGiB: 10 })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    expect(diskDiff(disk, { ...disk, capacityGiB: 4 }).replaces).toEqual(['capacityGiB']);
    const seed = { uri: 'u', pool: 'p', vm: 'v', hostname: 'v', user: 'ops', sshPublicKey: 'k', mac: 'm', network: { mode: 'dhcp' } } as unknown as SeedOutputs;
    expect(seedDiff(seed, { ...seed, sshPublicKey: 'k2' }).replaces).toEqual(['sshPublicKey']);
  });
});

describe('kvm harness names and libvirt messages', () => {
  it('finds the slot of leftovers and nothing else', () => {
    expect(['infra-kvm7', 'ikv7', 'slot-7', 'slot-7.lock'].map(kvmSlotOfName)).toEqual([7, 7, 7, 7]);
    expect(['infra-th7-lan', 'ikv', 'slot-0', 'virbr0'].map(kvmSlotOfName)).toEqual([undefined, undefined, undefined, undefined]);
  });
  it('virsh errors become one line', () => {
    expect(libvirtMessage("error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/x': No such file or directory\n")).toBe("failed to connect to the hypervisor; Failed to connect socket to '/x': No such file or directory");
  });
});
