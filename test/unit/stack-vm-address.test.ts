import { describe, expect, it } from 'vitest';
import { parseStack } from '../../stacks/load.ts';
import { hostsOverSsh, vmAddress } from '../../stacks/site-hosts.ts';

const stack = (body: string) => parseStack('s.yaml', `apiVersion: infra.dev/v1alpha1\nkind: Stack\n${body}`);
const kvmSite = (name: string, subnet: string) => `  - {name: ${name}, kind: kvm, uri: 'qemu:///system', pool: /var/lib/infra, image: /img/debian.qcow2, subnet: ${subnet}}\n`;

describe('the VMs of a kvm site: their address is their static lease', () => {
  it('.10 upward in the order of each site\'s hosts, so a cluster on them is planned before they exist', () => {
    const s = stack(
      `sites:\n${kvmSite('a', '10.1.2.0/24')}${kvmSite('b', '10.9.9.0/24')}hosts:\n  - {name: a1, site: a}\n  - {name: b1, site: b}\n  - {name: a2, site: a}\nclusters:\n  - {name: c, site: a, distribution: kubernetes, hosts: [a1, a2]}\n`,
    );
    expect(s.hosts.map((h) => [h.name, h.address])).toEqual([['a1', '10.1.2.10'], ['b1', '10.9.9.10'], ['a2', '10.1.2.11']]);
    expect(hostsOverSsh(s.sites[0]!)).toBe(true);
  });

  it('a kvm site without pool and image (previewed only) keeps what the stack says, and is not built on', () => {
    const s = stack(`sites:\n  - {name: a, kind: kvm, uri: 'qemu:///system'}\nhosts:\n  - {name: a1, site: a, address: 192.0.2.5}\n`);
    expect(s.hosts[0]?.address).toBe('192.0.2.5');
    expect(hostsOverSsh(s.sites[0]!)).toBe(false);
  });

  it('an address written on a VM is an error with its line (the lease decides it)', () => {
    expect(() => stack(`sites:\n${kvmSite('a', '10.1.2.0/24')}hosts:\n  - {name: a1, site: a}\n  - {name: a2, site: a, address: 10.1.2.50}\n`)).toThrow(
      /hosts\[1\]\.address: a VM of kvm site a gets its address from the site's subnet \(10\.1\.2\.11 for this one\): remove address \(s\.yaml:7\)/,
    );
  });

  it('room for 90 VMs per site, below the DHCP range', () => {
    expect(vmAddress('192.168.150.0/24', 89)).toBe('192.168.150.99');
    expect(() => vmAddress('192.168.150.0/24', 90)).toThrow(RangeError);
  });
});
