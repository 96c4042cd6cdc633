import { createHash } from 'node:crypto';

/**
 * libvirt XML of the KVM resources, from plain inputs (pure, deterministic). A domain carries an
 * ownership mark in its metadata, so one of the same name that infra did not make is recognised
 * and never touched (networks have no metadata in libvirt 9.0: the state keeps their UUID).
 */
export const OWNER_NS = 'https://infra.invalid/kvm/1';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface PoolSpec {
  readonly name: string;
  readonly path: string;
}

export function poolXml(p: PoolSpec): string {
  return `<pool type='dir'>\n  <name>${esc(p.name)}</name>\n  <target>\n    <path>${esc(p.path)}</path>\n  </target>\n</pool>\n`;
}

export interface DiskVolumeSpec {
  readonly name: string;
  readonly capacityGiB: number;
  /** Path of the backing file (the base image volume), qcow2. */
  readonly backingPath: string;
  readonly backingFormat: 'qcow2' | 'raw';
}

export function diskVolumeXml(v: DiskVolumeSpec): string {
  return [
    `<volume type='file'>`,
    `  <name>${esc(v.name)}</name>`,
    `  <capacity unit='GiB'>${v.capacityGiB}</capacity>`,
    `  <target>`,
    `    <format type='qcow2'/>`,
    `    <permissions><mode>0600</mode></permissions>`,
    `  </target>`,
    `  <backingStore>`,
    `    <path>${esc(v.backingPath)}</path>`,
    `    <format type='${v.backingFormat}'/>`,
    `  </backingStore>`,
    `</volume>`,
    '',
  ].join('\n');
}

export interface StaticLease {
  readonly mac: string;
  readonly name: string;
  readonly ip: string;
}

export interface NetworkSpec {
  readonly name: string;
  /** `10.214.1.0/24`-style; the bridge takes the first address. Only /24 … /16 IPv4. */
  readonly cidr: string;
  readonly dhcpStart: string;
  readonly dhcpEnd: string;
  readonly leases: readonly StaticLease[];
  readonly forward: 'nat' | 'open';
}

export function networkXml(n: NetworkSpec): string {
  const { gateway, netmask } = subnetOf(n.cidr);
  const hosts = [...n.leases].sort((a, b) => a.mac.localeCompare(b.mac)).map((l) => `      <host mac='${esc(l.mac)}' name='${esc(l.name)}' ip='${esc(l.ip)}'/>`);
  return [
    `<network>`,
    `  <name>${esc(n.name)}</name>`,
    `  <forward mode='${n.forward}'/>`,
    `  <bridge stp='off' delay='0'/>`,
    `  <ip address='${gateway}' netmask='${netmask}'>`,
    `    <dhcp>`,
    `      <range start='${esc(n.dhcpStart)}' end='${esc(n.dhcpEnd)}'/>`,
    ...hosts,
    `    </dhcp>`,
    `  </ip>`,
    `</network>`,
    '',
  ].join('\n');
}

export function subnetOf(cidr: string): { gateway: string; netmask: string } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  const bits = Number(m?.[5]);
  if (!m || bits < 8 || bits > 30) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const addr = m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = (addr & mask) >>> 0;
  const dotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  return { gateway: dotted(net + 1), netmask: dotted(mask) };
}

/** A stable locally administered MAC (QEMU's 52:54:00 prefix) from a name. */
export function macFor(name: string): string {
  const h = createHash('sha256').update(name).digest();
  return ['52', '54', '00', ...[0, 1, 2].map((i) => (h[i] ?? 0).toString(16).padStart(2, '0'))].join(':');
}

export interface DomainSpec {
  readonly name: string;
  /** Who made it: stack and resource, written in the domain's metadata. */
  readonly owner: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** kvm where the host has it, else qemu (software emulation, TCG). */
  readonly virtType: 'kvm' | 'qemu';
  readonly diskPath: string;
  readonly seedPath: string;
  readonly network: string;
  readonly mac: string;
  readonly consoleLog: string;
  /** Direct kernel boot (kernel and initrd are paths on the libvirt host); absent: boot the disk. */
  readonly kernel?: string | undefined;
  readonly initrd?: string | undefined;
  readonly cmdline?: string | undefined;
  /** The defined domain's UUID: redefining it (an update) must name it, or libvirt sees a clash. */
  readonly uuid?: string | undefined;
}

export function domainXml(d: DomainSpec): string {
  const os = d.kernel
    ? [
        `    <kernel>${esc(d.kernel)}</kernel>`,
        ...(d.initrd ? [`    <initrd>${esc(d.initrd)}</initrd>`] : []),
        ...(d.cmdline ? [`    <cmdline>${esc(d.cmdline)}</cmdline>`] : []),
      ]
    : [`    <boot dev='hd'/>`];
  return [
    `<domain type='${d.virtType}'>`,
    `  <name>${esc(d.name)}</name>`,
    ...(d.uuid ? [`  <uuid>${esc(d.uuid)}</uuid>`] : []),
    `  <metadata>`,
    `    <infra:owner xmlns:infra='${OWNER_NS}'>${esc(d.owner)}</infra:owner>`,
    `  </metadata>`,
    `  <memory unit='MiB'>${d.memoryMiB}</memory>`,
    `  <currentMemory unit='MiB'>${d.memoryMiB}</currentMemory>`,
    `  <vcpu>${d.vcpus}</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='pc'>hvm</type>`,
    ...os,
    `  </os>`,
    `  <features><acpi/><apic/></features>`,
    // TCG's default CPU (qemu64) lacks instructions current kernels use (cmpxchg16b): emulate the most it can.
    d.virtType === 'kvm' ? `  <cpu mode='host-passthrough' check='none'/>` : `  <cpu mode='maximum' check='none'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    `    <disk type='file' device='disk'>`,
    `      <driver name='qemu' type='qcow2'/>`,
    `      <source file='${esc(d.diskPath)}'/>`,
    `      <target dev='vda' bus='virtio'/>`,
    `    </disk>`,
    `    <disk type='file' device='disk'>`,
    `      <driver name='qemu' type='raw'/>`,
    `      <source file='${esc(d.seedPath)}'/>`,
    `      <target dev='vdb' bus='virtio'/>`,
    `      <readonly/>`,
    `    </disk>`,
    `    <interface type='network'>`,
    `      <source network='${esc(d.network)}'/>`,
    `      <mac address='${esc(d.mac)}'/>`,
    `      <model type='virtio'/>`,
    `      <rom enabled='no'/>`,
    `    </interface>`,
    `    <serial type='file'>`,
    // Appended across boots: what the VM printed before a restart stays readable after it.
    `      <source path='${esc(d.consoleLog)}' append='on'/>`,
    `      <target port='0'/>`,
    `    </serial>`,
    `    <memballoon model='virtio'/>`,
    `    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>`,
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}

/** The owner written in a domain's XML (as `virsh dumpxml` prints it), if infra made it. */
export function ownerOf(xml: string): string | undefined {
  const m = /<infra:owner[^>]*>([^<]*)<\/infra:owner>/.exec(xml);
  return m ? m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&') : undefined;
}
