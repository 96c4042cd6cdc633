import type { SiteSpec } from './model.ts';

/**
 * The address of a VM infra makes on a kvm site: its static DHCP lease in the site's /24, `.10`
 * upward in the order of the site's hosts. Known before the VM exists, so the clusters on those
 * VMs are planned like clusters on SSH hosts (the network's DHCP range for anything else is
 * `.100`–`.199`, modules/kvm/stack-kvm.ts).
 */
export const FIRST_VM_HOST = 10;
export const MAX_VMS_PER_SITE = 90;

/** `subnet` an IPv4 /24 like 192.168.150.0/24; `index` the VM's position among its site's hosts. */
export function vmAddress(subnet: string, index: number): string {
  if (index < 0 || index >= MAX_VMS_PER_SITE) throw new RangeError(`a kvm site has room for ${MAX_VMS_PER_SITE} VMs (static leases .${FIRST_VM_HOST}–.${FIRST_VM_HOST + MAX_VMS_PER_SITE - 1})`);
  return `${subnet.replace(/\.0\/24$/, '')}.${FIRST_VM_HOST + index}`;
}

/**
 * Whether infra reaches the site's hosts over SSH, so clusters on them are built there: the hosts
 * of an ssh site, and the VMs a kvm site makes (a kvm site without pool and image is only
 * previewed).
 */
export function hostsOverSsh(site: Pick<SiteSpec, 'kind' | 'kvm'>): boolean {
  return site.kind === 'ssh' || (site.kind === 'kvm' && site.kvm !== undefined);
}
