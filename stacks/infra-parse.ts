import { chooseCni, chooseCsi, chooseDatastore, chooseDistribution, defaultVersion, type ClusterFacts } from './defaults.ts';
import { NAME } from './gitops-parse.ts';
import type { PathSegment } from './issues.ts';
import type { ClusterSpec, Decision, HostSpec, KvmSiteSpec, Runtime, SiteSpec } from './model.ts';
import type { FieldReader } from './reader.ts';
import { MAX_VMS_PER_SITE, vmAddress } from './site-hosts.ts';
import { CIDR_PATTERN, CLUSTER, ENUMS, HOST, SITE, fieldNames } from './schema.ts';
import { KUBERNETES_DEFAULT_VERSION, KUBERNETES_SUPPORTED_VERSIONS } from './versions.ts';

/** Reads sites, hosts and clusters, fills defaults by the rules of docs/DECISIONS.md, reports every problem. */

const NAME_TEXT = 'a lowercase name of letters, digits and dashes';
const CIDR = new RegExp(CIDR_PATTERN);

function readCilium(r: FieldReader, p: PathSegment[]): ClusterSpec['cilium'] {
  if (!r.object(p)) return undefined;
  r.knownKeys(p, ['kubeProxyReplacement', 'routing', 'ipam']);
  const routing = r.oneOf([...p, 'routing'], ENUMS.ciliumRouting);
  const ipam = r.oneOf([...p, 'ipam'], ENUMS.ciliumIpam);
  const kpr = r.at([...p, 'kubeProxyReplacement']) === undefined ? undefined : r.boolean([...p, 'kubeProxyReplacement'], true);
  return { ...(kpr === undefined ? {} : { kubeProxyReplacement: kpr }), ...(routing ? { routing } : {}), ...(ipam ? { ipam } : {}) };
}

export function readSites(r: FieldReader): SiteSpec[] {
  const out: SiteSpec[] = [];
  (r.list(['sites']) ?? []).forEach((_, i) => {
    const p = ['sites', i];
    r.knownKeys(p, fieldNames(SITE));
    const name = r.string([...p, 'name'], { required: true, pattern: NAME, patternText: NAME_TEXT });
    const kind = r.oneOf([...p, 'kind'], ENUMS.siteKind);
    if (r.at([...p, 'kind']) === undefined) r.source.report([...p, 'kind'], 'is required (local, kvm or ssh)');
    const uri = r.string([...p, 'uri']);
    if (kind === 'kvm' && !uri) r.source.report([...p, 'uri'], 'a kvm site needs its libvirt URI, e.g. qemu:///system or qemu+ssh://root@host/system');
    const kvm = kind === 'kvm' ? readKvmSite(r, p) : undefined;
    const network = r.oneOf([...p, 'network'], ENUMS.network, 'reliable');
    if (r.at([...p, 'labels', 'site-kind']) !== undefined) r.oneOf([...p, 'labels', 'site-kind'], ENUMS.siteKindLabel);
    if (name && kind) out.push({ name, kind, ...(uri ? { uri } : {}), ...(kvm ? { kvm } : {}), edge: r.boolean([...p, 'edge'], false), network: network ?? 'reliable', labels: r.stringMap([...p, 'labels']) });
  });
  return out;
}

function readKvmSite(r: FieldReader, p: PathSegment[]): KvmSiteSpec | undefined {
  // Without pool and image the site is previewed only (its VMs cannot be made): `up` says so.
  const pool = r.string([...p, 'pool']);
  const image = r.string([...p, 'image']);
  if (!!pool !== !!image) r.source.report([...p, pool ? 'image' : 'pool'], 'a kvm site that makes VMs needs both pool (a directory on the libvirt host) and image (a qcow2 cloud image)');
  const subnet = r.string([...p, 'subnet'], { pattern: /^\d+\.\d+\.\d+\.0\/24$/, patternText: 'an IPv4 /24 like 192.168.150.0/24' }) ?? '192.168.150.0/24';
  const kernel = r.string([...p, 'kernel']);
  const initrd = r.string([...p, 'initrd']);
  const cmdline = r.string([...p, 'cmdline']);
  const accel = r.oneOf([...p, 'accel'], ['kvm', 'tcg'] as const, 'kvm') ?? 'kvm';
  if (!pool || !image) return undefined;
  return { pool, subnet, image, accel, ...(kernel ? { kernel } : {}), ...(initrd ? { initrd } : {}), ...(cmdline ? { cmdline } : {}) };
}

export function readHosts(r: FieldReader, sites: ReadonlyMap<string, SiteSpec>): HostSpec[] {
  const out: HostSpec[] = [];
  const vmsPerSite = new Map<string, number>();
  (r.list(['hosts']) ?? []).forEach((_, i) => {
    const p = ['hosts', i];
    r.knownKeys(p, fieldNames(HOST));
    const name = r.string([...p, 'name'], { required: true, pattern: NAME, patternText: NAME_TEXT });
    const siteName = r.string([...p, 'site'], { required: true });
    const site = siteName ? sites.get(siteName) : undefined;
    if (siteName && !site) r.source.report([...p, 'site'], `no site named "${siteName}"`);
    const given = r.string([...p, 'address']);
    if (site?.kind === 'ssh' && !given) r.source.report([...p, 'address'], 'a host of an ssh site needs its address');
    const address = site?.kvm && siteName ? vmLease(r, p, site.kvm.subnet, given, vmsPerSite, siteName) : given;
    if (site?.kind === 'local') r.source.report([...p, 'site'], 'a local site has no hosts (it is this machine)');
    const disks = (r.list([...p, 'disks']) ?? []).map((_, j) => r.string([...p, 'disks', j], { required: true, pattern: /^\/dev\/\S+$/, patternText: 'a device path like /dev/vdb' })).filter((d): d is string => !!d);
    const hostKey = r.string([...p, 'hostKey']);
    const cpus = r.integer([...p, 'cpus'], { min: 1 });
    const memoryGiB = r.integer([...p, 'memoryGiB'], { min: 1 });
    if (name && siteName) {
      out.push({
        name,
        site: siteName,
        ...(address ? { address } : {}),
        user: r.string([...p, 'user']) ?? 'root',
        port: r.integer([...p, 'port'], { min: 1, max: 65535, fallback: 22 }) ?? 22,
        ...(hostKey ? { hostKey } : {}),
        ...(cpus ? { cpus } : {}),
        ...(memoryGiB ? { memoryGiB } : {}),
        arch: r.oneOf([...p, 'arch'], ENUMS.arch, 'amd64') ?? 'amd64',
        disks,
      });
    }
  });
  return out;
}

/** A VM infra makes: its address is its static lease, in the order of its site's hosts (stacks/site-hosts.ts). */
function vmLease(r: FieldReader, p: PathSegment[], subnet: string, given: string | undefined, count: Map<string, number>, site: string): string | undefined {
  const index = count.get(site) ?? 0;
  count.set(site, index + 1);
  if (given) r.source.report([...p, 'address'], `a VM of kvm site ${site} gets its address from the site's subnet (${vmAddress(subnet, Math.min(index, MAX_VMS_PER_SITE - 1))} for this one): remove address`);
  if (index >= MAX_VMS_PER_SITE) {
    r.source.report([...p, 'site'], `kvm site ${site} has room for ${MAX_VMS_PER_SITE} VMs: put this host on another kvm site`);
    return undefined;
  }
  return vmAddress(subnet, index);
}

export function readClusters(r: FieldReader, sites: ReadonlyMap<string, SiteSpec>, hosts: ReadonlyMap<string, HostSpec>, decisions: Decision[]): ClusterSpec[] {
  const out: ClusterSpec[] = [];
  (r.list(['clusters']) ?? []).forEach((_, i) => {
    const p: PathSegment[] = ['clusters', i];
    const path = `clusters[${i}]`;
    r.knownKeys(p, fieldNames(CLUSTER));
    const name = r.string([...p, 'name'], { required: true, pattern: NAME, patternText: NAME_TEXT });
    const kubeconfig = r.string([...p, 'kubeconfig']);
    const siteName = r.string([...p, 'site']) ?? (sites.size === 1 ? [...sites.keys()][0] : undefined);
    const site = siteName ? sites.get(siteName) : undefined;
    if (siteName && !site) r.source.report([...p, 'site'], `no site named "${siteName}" (sites: ${[...sites.keys()].join(', ') || 'none'})`);
    if (!siteName && sites.size > 1 && !kubeconfig) r.source.report([...p, 'site'], `is required when the stack has several sites (${[...sites.keys()].join(', ')})`);
    const hostNames = (r.list([...p, 'hosts']) ?? []).map((_, j) => r.string([...p, 'hosts', j], { required: true })).filter((h): h is string => !!h);
    const clusterHosts: HostSpec[] = [];
    hostNames.forEach((h, j) => {
      const host = hosts.get(h);
      if (!host) r.source.report([...p, 'hosts', j], `no host named "${h}"`);
      else if (siteName && host.site !== siteName) r.source.report([...p, 'hosts', j], `host "${h}" is on site "${host.site}", not "${siteName}"`);
      else clusterHosts.push(host);
    });
    const controlPlanes = r.integer([...p, 'controlPlanes'], { min: 1, max: 7, fallback: 1 }) ?? 1;
    const nodes = r.integer([...p, 'nodes'], { min: 0, max: 100000, fallback: Math.max(hostNames.length, 1) }) ?? 1;
    const facts: ClusterFacts = { path, ...(site ? { site } : {}), hosts: clusterHosts, nodes, controlPlanes, strictSecurity: r.at([...p, 'security']) === 'strict' };
    r.oneOf([...p, 'security'], ['standard', 'strict']);

    const pick = <T extends string>(key: string, allowed: readonly T[], rule: () => { value: T; decision: Decision }): T | undefined => {
      if (r.at([...p, key]) !== undefined) return r.oneOf([...p, key], allowed);
      const c = rule();
      decisions.push(c.decision);
      return c.value;
    };
    const distribution = pick('distribution', ENUMS.distribution, () => chooseDistribution(facts));
    if (!distribution) return;
    if (distribution === 'local' && site && site.kind !== 'local') r.source.report([...p, 'distribution'], `local clusters run on a local site, not the ${site.kind} site "${site.name}"`);
    if (distribution !== 'local' && !kubeconfig && site?.kind === 'local') r.source.report([...p, 'distribution'], `${distribution} needs hosts: use a kvm or ssh site, or distribution local`);
    const bootstrap = r.at([...p, 'bootstrap']) !== undefined ? r.oneOf([...p, 'bootstrap'], ENUMS.bootstrap) : undefined;
    if (bootstrap && distribution !== 'kubernetes') r.source.report([...p, 'bootstrap'], `bootstrap picks how a kubernetes cluster is made; ${distribution} has none`);
    const datastore = pick('datastore', ENUMS.datastore, () => chooseDatastore(facts, distribution));
    if (datastore === 'sqlite' && controlPlanes > 1) r.source.report([...p, 'datastore'], 'sqlite serves a single server; use embedded-etcd for several control planes');
    const endpoint = r.string([...p, 'datastoreEndpoint']);
    if ((datastore === 'external-etcd' || datastore === 'external-sql') && !endpoint && r.at([...p, 'datastore']) !== undefined) {
      r.source.report([...p, 'datastoreEndpoint'], `${datastore} needs datastoreEndpoint`);
    }
    const cni = pick('cni', ENUMS.cni, () => chooseCni(facts));
    const csi = pick('csi', ENUMS.csi, () => chooseCsi(facts, distribution));
    const runtimes = (r.list([...p, 'runtimes']) ?? []).map((_, j) => r.oneOf([...p, 'runtimes', j], ENUMS.runtime)).filter((x): x is Runtime => !!x);
    const version = r.string([...p, 'version']) ?? defaultVersion(distribution);
    if (distribution === 'kubernetes' && !kubeconfig && r.at([...p, 'version']) !== undefined) {
      const supported = bootstrap === 'kubeadm' ? [KUBERNETES_DEFAULT_VERSION] : KUBERNETES_SUPPORTED_VERSIONS;
      if (!supported.includes(version)) r.source.report([...p, 'version'], `infra builds Kubernetes ${supported.join(' and ')}${bootstrap === 'kubeadm' ? ' for kubeadm clusters' : ''}, not ${version}`);
    }
    const podCidr = r.string([...p, 'podCidr'], { pattern: CIDR, patternText: 'an IPv4 CIDR like 10.244.0.0/16' });
    const serviceCidr = r.string([...p, 'serviceCidr'], { pattern: CIDR, patternText: 'an IPv4 CIDR like 10.96.0.0/16' });
    const cilium = readCilium(r, [...p, 'cilium']);
    const addons = r.boolean([...p, 'addons'], false);
    const own = r.stringMap([...p, 'labels']);
    const labels = { [SITE_KIND_LABEL]: own['site-kind'] ?? siteKindOf(site), ...(site?.labels ?? {}), ...(site ? { site: site.name } : {}), ...own };
    if (name && datastore && cni && csi) {
      out.push({
        name,
        ...(kubeconfig ? { kubeconfig } : {}),
        local: !kubeconfig && distribution === 'local',
        labels,
        ...(siteName ? { site: siteName } : {}),
        distribution,
        ...(bootstrap ? { bootstrap } : {}),
        version,
        controlPlanes,
        nodes,
        hosts: hostNames,
        datastore,
        ...(endpoint ? { datastoreEndpoint: endpoint } : {}),
        cni,
        csi,
        runtimes,
        ...(podCidr ? { podCidr } : {}),
        ...(serviceCidr ? { serviceCidr } : {}),
        ...(cilium ? { cilium } : {}),
        ...(addons ? { addons } : {}),
      });
    }
  });
  return out;
}

/** Every cluster's `infra.dev/site-kind`, for placement selectors. The cluster's own labels may override it. */
export const SITE_KIND_LABEL = 'infra.dev/site-kind';

/** The site's `site-kind` label if it sets one (cloud, edge, dc), else edge for edge sites, else dc. */
/** The site kind of a cluster: its own `site-kind` label (checked above), else its site's, else `edge` for an edge site, else `dc`. */
function siteKindOf(site: { readonly edge: boolean; readonly labels: Readonly<Record<string, string>> } | undefined): string {
  return site?.labels['site-kind'] ?? (site?.edge ? 'edge' : 'dc');
}
