import { describe, expect, it } from 'vitest';
import type { AddonFacts } from '../../modules/addons/addon.ts';
import { imagesOf } from '../../modules/addons/addon.ts';
import { addonApps, renderStackAddons } from '../../modules/addons/apps.ts';
import { clusterFacts } from '../../modules/addons/facts.ts';
import { ciliumConfig, ciliumHelmValues } from '../../modules/addons/cilium.ts';
import { overlaps } from '../../modules/addons/cidr.ts';
import { flannel } from '../../modules/addons/flannel.ts';
import { localPath } from '../../modules/addons/local-path.ts';
import { addonChangesText, diffAddonSets, entriesOf } from '../../modules/addons/preview.ts';
import { rookCeph } from '../../modules/addons/rook-ceph.ts';
import { containerdRuntimesToml, runtimes } from '../../modules/addons/runtimes.ts';
import { assertAddonsValid, stackAddonIssues } from '../../modules/addons/validate.ts';
import type { KubeObject } from '../../reconciler/types.ts';
import { parseStack } from '../../stacks/load.ts';

const host = (name: string, disks: string[] = []) => ({ name, site: 'dc', address: '192.0.2.1', user: 'root', port: 22, arch: 'amd64' as const, disks });
const facts = (over: Partial<AddonFacts> = {}): AddonFacts => ({
  cluster: 'core',
  path: ['clusters', 0],
  distribution: 'kubernetes',
  local: false,
  existing: false,
  podCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/16',
  nodes: 3,
  hosts: [host('h1', ['/dev/vdb']), host('h2', ['/dev/vdb', '/dev/vdc']), host('h3', ['/dev/vdb'])],
  cni: 'flannel',
  csi: 'local-path',
  runtimes: [],
  cilium: { kubeProxyReplacement: true, routing: 'tunnel', ipam: 'kubernetes' },
  ...over,
});
const find = (objs: KubeObject[], kind: string, name?: string) => objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name))!;

describe('add-ons on nodes infra made (binaries on hosts)', () => {
  const own = facts({ infraNodes: { apiserverHost: '192.0.2.1', apiserverPort: 6443 } });
  const containers = (objs: KubeObject[], kind: string) => {
    const spec = (find(objs, kind) as unknown as { spec: { template: { spec: { initContainers?: Record<string, unknown>[]; containers: Record<string, unknown>[] } } } }).spec.template.spec;
    return [...(spec.initContainers ?? []), ...spec.containers];
  };

  it('flannel runs from the image infra built and imported, never pulled, with the CNI plugin installed from it and the apiserver reached directly', () => {
    const objs = flannel.render(own);
    expect(imagesOf(objs)).toEqual(['infra.local/flannel:v0.27.4']);
    const all = containers(objs, 'DaemonSet');
    expect(all.map((c) => [c['name'], c['imagePullPolicy']])).toEqual([['install-cni-plugin', 'Never'], ['install-cni-config', 'Never'], ['kube-flannel', 'Never']]);
    expect(all[2]!['env']).toEqual(expect.arrayContaining([{ name: 'KUBERNETES_SERVICE_HOST', value: '192.0.2.1' }, { name: 'KUBERNETES_SERVICE_PORT', value: '6443' }]));
  });

  it('local-path: infra\'s provisioner image, busybox for its helper Pods, the apiserver reached directly', () => {
    const objs = localPath.render(own);
    expect(imagesOf(objs)).toEqual(['infra.local/local-path-provisioner:v0.0.30']);
    const cfg = find(objs, 'ConfigMap') as KubeObject & { data: Record<string, string> };
    expect(JSON.parse(cfg.data['helperPod.yaml']!).spec.containers[0]).toEqual({ name: 'helper-pod', image: 'infra.local/busybox:1.35.0', imagePullPolicy: 'Never' });
    const [provisioner] = containers(objs, 'Deployment');
    // The account the provisioner gives its helper Pods by default must exist.
    expect(find(objs, 'ServiceAccount').metadata.name).toBe('local-path-provisioner-service-account');
    expect(provisioner!['command']).toContain('infra.local/busybox:1.35.0');
    expect(provisioner!['env']).toEqual(expect.arrayContaining([{ name: 'KUBERNETES_SERVICE_HOST', value: '192.0.2.1' }]));
  });

  it('a binaries cluster on hosts gets those facts from its first host; an existing or local one does not', () => {
    const stack = parseStack('stack.yaml', [
      'apiVersion: infra.dev/v1alpha1', 'kind: Stack', 'metadata: {name: s}',
      'sites: [{name: dc, kind: ssh}]',
      'hosts: [{name: h1, site: dc, address: 192.0.2.7}, {name: h2, site: dc, address: 192.0.2.8}]',
      'clusters: [{name: core, site: dc, hosts: [h1, h2], addons: true}]', '',
    ].join('\n'));
    expect(clusterFacts(stack, stack.clusters[0]!).infraNodes).toEqual({ apiserverHost: '192.0.2.7', apiserverPort: 6443 });
    expect(facts().infraNodes).toBeUndefined();
  });
});

describe('add-on renderers', () => {
  it('flannel: VXLAN with the cluster\'s pod CIDR, a DaemonSet on every node, the RBAC it needs', () => {
    const objs = flannel.render(facts({ podCidr: '10.50.0.0/16' }));
    const cfg = find(objs, 'ConfigMap') as KubeObject & { data: Record<string, string> };
    expect(JSON.parse(cfg.data['net-conf.json']!)).toEqual({ Backend: { Port: 8472, Type: 'vxlan', VNI: 1 }, EnableIPv4: true, Network: '10.50.0.0/16' });
    expect(JSON.parse(cfg.data['cni-conf.json']!).plugins[0].type).toBe('flannel');
    const ds = find(objs, 'DaemonSet') as KubeObject & { spec: { template: { spec: { hostNetwork: boolean; tolerations: unknown[] } } } };
    expect(ds.spec.template.spec).toMatchObject({ hostNetwork: true, tolerations: [{ operator: 'Exists' }] });
    expect(find(objs, 'ClusterRole').rules).toContainEqual({ apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] });
    expect(imagesOf(objs)).toEqual(['docker.io/flannel/flannel:v0.26.7']);
    expect(flannel.validate(facts({ podCidr: '10.244.0.0/24' }))[0]?.message).toMatch(/\/22 or larger/);
  });

  it('renders are deterministic: the same facts give byte-identical objects', () => {
    const f = facts({ cni: 'cilium', csi: 'rook-ceph', runtimes: ['kata', 'gvisor'] });
    expect(JSON.stringify(renderStackAddons({ hosts: f.hosts, clusters: [] }))).toBe('[]');
    for (const a of [flannel, localPath, rookCeph, runtimes]) expect(JSON.stringify(a.render(f))).toBe(JSON.stringify(a.render(f)));
  });

  it('cilium: kube-proxy replacement, tunnel or native routing, IPAM mode from the stack', () => {
    expect(ciliumConfig(facts())).toMatchObject({ 'kube-proxy-replacement': 'true', 'routing-mode': 'tunnel', 'tunnel-protocol': 'vxlan', ipam: 'kubernetes' });
    const native = facts({ podCidr: '10.8.0.0/16', cilium: { kubeProxyReplacement: false, routing: 'native', ipam: 'cluster-pool' } });
    const c = ciliumConfig(native);
    expect(c).toMatchObject({ 'kube-proxy-replacement': 'false', 'routing-mode': 'native', 'ipv4-native-routing-cidr': '10.8.0.0/16', ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': '10.8.0.0/16' });
    expect(c['tunnel-protocol']).toBeUndefined();
    expect(ciliumHelmValues(native)).toMatchObject({ kubeProxyReplacement: false, routingMode: 'native', ipam: { mode: 'cluster-pool', operator: { clusterPoolIPv4PodCIDRList: ['10.8.0.0/16'] } } });
  });

  it('local-path: provisioner, default StorageClass binding on first consumer, node paths per host', () => {
    const objs = localPath.render(facts());
    const sc = find(objs, 'StorageClass');
    expect(sc).toMatchObject({ provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer', metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } });
    const cfg = JSON.parse((find(objs, 'ConfigMap') as KubeObject & { data: Record<string, string> }).data['config.json']!);
    expect(cfg.nodePathMap.map((n: { node: string }) => n.node)).toEqual(['DEFAULT_PATH_FOR_NON_LISTED_NODES', 'h1', 'h2', 'h3']);
    expect(find(objs, 'Deployment')).toBeDefined();
  });

  it('rook-ceph: CRDs first, a CephCluster of exactly the hosts\' disks, a pool with a replica per host, a StorageClass', () => {
    const objs = rookCeph.render(facts({ csi: 'rook-ceph' }));
    expect(objs.slice(0, 2).map((o) => o.kind)).toEqual(['CustomResourceDefinition', 'CustomResourceDefinition']);
    expect((find(objs, 'CephCluster').spec as { storage: unknown }).storage).toEqual({
      useAllNodes: false,
      useAllDevices: false,
      nodes: [{ name: 'h1', devices: [{ name: 'vdb' }] }, { name: 'h2', devices: [{ name: 'vdb' }, { name: 'vdc' }] }, { name: 'h3', devices: [{ name: 'vdb' }] }],
    });
    expect(find(objs, 'CephBlockPool').spec).toMatchObject({ failureDomain: 'host', replicated: { size: 3 } });
    expect(find(objs, 'StorageClass')).toMatchObject({ provisioner: 'rook-ceph.rbd.csi.ceph.com', parameters: { pool: 'replicapool' } });
  });

  it('runtimes: a RuntimeClass per runtime on labelled nodes, containerd keeps runc as default with one handler each', () => {
    const f = facts({ runtimes: ['kata', 'gvisor'] });
    expect(runtimes.render(f).map((o) => [o.metadata.name, o['handler'], o['scheduling']])).toEqual([
      ['gvisor', 'runsc', { nodeSelector: { 'infra.dev/runtime-gvisor': 'true' } }],
      ['kata', 'kata', { nodeSelector: { 'infra.dev/runtime-kata': 'true' } }],
    ]);
    const toml = containerdRuntimesToml(f);
    expect(toml).toContain('default_runtime_name = "runc"');
    expect(toml).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]\n  runtime_type = "io.containerd.runsc.v1"');
    expect(toml).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n  runtime_type = "io.containerd.kata.v2"');
    expect(runtimes.nodeFiles(f)[0]?.path).toBe('/etc/containerd/conf.d/20-infra-runtimes.toml');
  });

  it('add-on apps: one per add-on on the clusters that want it; storage and runtimes wait for the network', () => {
    const apps = addonApps([facts({ csi: 'rook-ceph', runtimes: ['gvisor'] }), facts({ cluster: 'edge', path: ['clusters', 1], cni: 'flannel', csi: 'local-path' })]);
    expect(apps.map((a) => [a.spec.name, a.spec.targets.clusters, a.spec.dependsOn])).toEqual([
      ['addon-flannel', ['core', 'edge'], []],
      ['addon-local-path', ['edge'], ['addon-flannel']],
      ['addon-rook-ceph', ['core'], ['addon-flannel']],
      ['addon-runtimes', ['core'], ['addon-flannel']],
    ]);
    expect(apps[0]!.revision).toMatch(/^[0-9a-f]{12}-v0\.26\.7$/);
    expect(apps[1]!.manifests('core')).toEqual([]);
    expect(apps[1]!.manifests('edge').map((m) => m.object.kind)).toContain('StorageClass');
  });
});

const stackText = (clusters: string, hosts = '') =>
  `apiVersion: infra.dev/v1alpha1\nkind: Stack\nsites:\n  - {name: dc, kind: ssh}\nhosts:\n${hosts || [1, 2, 3].map((i) => `  - {name: h${i}, site: dc, address: 192.0.2.${i}, memoryGiB: 8}`).join('\n')}\nclusters:\n${clusters}\n`;
const issues = (text: string) => stackAddonIssues(parseStack('stack.yaml', text), text);

describe('add-on validation names the stack path and line', () => {
  it('rook-ceph on fewer than 3 hosts with disks names them', () => {
    const hosts = '  - {name: h1, site: dc, address: 192.0.2.1, disks: [/dev/vdb]}\n  - {name: h2, site: dc, address: 192.0.2.2, disks: [/dev/vdb]}\n  - {name: h3, site: dc, address: 192.0.2.3}';
    const text = stackText('  - name: core\n    hosts: [h1, h2, h3]\n    csi: rook-ceph', hosts);
    expect(issues(text)).toEqual([
      expect.objectContaining({ path: 'clusters[0].csi', line: 12, message: expect.stringMatching(/at least 3 hosts with spare disks.*only h1, h2 have disks \(no disks: h3\)/) }),
    ]);
    expect(() => assertAddonsValid(parseStack('stack.yaml', text), text)).toThrow(/clusters\[0\]\.csi: rook-ceph needs at least 3 hosts.*\(stack\.yaml:12\)/);
  });

  it('cilium with a pod CIDR overlapping the service CIDR', () => {
    const text = stackText('  - name: core\n    hosts: [h1, h2, h3]\n    cni: cilium\n    podCidr: 10.96.0.0/12\n    serviceCidr: 10.100.0.0/16');
    expect(issues(text)).toEqual([expect.objectContaining({ path: 'clusters[0].podCidr', line: 13, message: expect.stringMatching(/pod CIDR 10\.96\.0\.0\/12 overlaps the service CIDR 10\.100\.0\.0\/16: cilium/) })]);
    expect(overlaps('10.244.0.0/16', '10.96.0.0/16')).toBe(false);
    expect(overlaps('10.0.0.0/8', '10.96.0.0/16')).toBe(true);
  });

  it('a runtime on a cluster that cannot run it: an existing cluster, kata on arm64 hosts', () => {
    const existing = `apiVersion: infra.dev/v1alpha1\nkind: Stack\nclusters:\n  - name: ext\n    kubeconfig: /tmp/none.yaml\n    distribution: kubernetes\n    runtimes: [gvisor]\n`;
    expect(issues(existing)).toEqual([expect.objectContaining({ path: 'clusters[0].runtimes[0]', line: 7, message: expect.stringMatching(/existing cluster \(kubeconfig\)/) })]);
    const arm = stackText('  - name: core\n    hosts: [h1]\n    distribution: kubernetes\n    runtimes: [gvisor, kata]', '  - {name: h1, site: dc, address: 192.0.2.1, arch: arm64, memoryGiB: 8}');
    expect(issues(arm)).toEqual([expect.objectContaining({ path: 'clusters[0].runtimes[1]', message: expect.stringMatching(/kata needs hardware virtualization.*h1 are arm64/) })]);
  });

  it('a good stack has no issues; the stack parser checks the new fields\' shapes', () => {
    expect(issues(stackText('  - name: core\n    hosts: [h1, h2, h3]\n    runtimes: [gvisor]'))).toEqual([]);
    expect(() => parseStack('s.yaml', stackText('  - name: core\n    hosts: [h1]\n    podCidr: 10.1.0.0\n    cilium: {routing: bgp}'))).toThrow(/podCidr: expected an IPv4 CIDR[\s\S]*cilium\.routing: expected tunnel or native/);
  });
});

describe('infra preview: which add-ons a stack change adds, changes, removes', () => {
  it('is a pure, sorted diff of rendered add-on sets', () => {
    const before = parseStack('s.yaml', stackText('  - {name: b, hosts: [h1], addons: true}\n  - {name: a, hosts: [h2], addons: true}\n  - {name: c, hosts: [h3]}'));
    const after = parseStack('s.yaml', stackText('  - {name: b, hosts: [h1], addons: true, cni: cilium, runtimes: [gvisor]}\n  - {name: a, hosts: [h2], addons: true, podCidr: 10.50.0.0/16}\n  - {name: c, hosts: [h3], runtimes: [gvisor]}'));
    const changes = diffAddonSets(entriesOf(renderStackAddons(before)), entriesOf(renderStackAddons(after)));
    expect(addonChangesText(changes)).toBe(
      ['add-ons:', '  ~ flannel on a (rendered objects differ)', '  + cilium on b (v1.16.5)', '  - flannel on b', '  + runtimes on b (runsc-release-20241104.0,kata-3.10.1)'].join('\n'),
    );
    expect(diffAddonSets(entriesOf(renderStackAddons(after)), entriesOf(renderStackAddons(after)))).toEqual([]);
  });
});
