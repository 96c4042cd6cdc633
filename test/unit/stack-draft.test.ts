import { describe, expect, it } from 'vitest';
import { draftStack, explainDefaults, explainDraft, renderDraft, type DraftAnswers } from '../../stacks/draft.ts';

const base: DraftAnswers = { name: 'demo', site: 'local', edge: false, unreliableNetwork: false, hosts: [], arm: false, clusters: ['core', 'edge'], nodes: 2, overrides: {}, withExampleApps: true };

describe('infra init drafts', () => {
  it('a local draft validates and says which rule picked each default', () => {
    const { stack, lines } = explainDefaults('s.yaml', renderDraft(draftStack(base)));
    expect(stack.clusters.map((c) => [c.name, c.distribution, c.nodes])).toEqual([['core', 'local', 2], ['edge', 'local', 2]]);
    expect(stack.gitops.apps[0]?.targets.clusters).toEqual(['core', 'edge']);
    expect(lines).toContain('clusters[0].distribution = local  (a local site runs clusters as processes on this machine)');
  });

  it('an ARM ssh site gets K3s; the hosts are split among the clusters', () => {
    const { stack } = explainDefaults('s.yaml', renderDraft(draftStack({ ...base, site: 'ssh', hosts: ['192.0.2.1', '192.0.2.2'], arm: true, withExampleApps: false })));
    expect(stack.clusters.map((c) => [c.distribution, c.hosts])).toEqual([['k3s', ['host-1']], ['k3s', ['host-2']]]);
    expect(stack.hosts.map((h) => h.address)).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('overrides win over rules, and later defaults follow them', () => {
    const { stack, lines } = explainDefaults('s.yaml', renderDraft(draftStack({ ...base, site: 'kvm', uri: 'qemu:///system', hosts: ['vm-1'], clusters: ['c'], overrides: { distribution: 'k3s' }, withExampleApps: false })));
    expect(stack.clusters[0]).toMatchObject({ distribution: 'k3s', datastore: 'sqlite' });
    expect(lines.some((l) => l.startsWith('clusters[0].distribution'))).toBe(false);
  });
});

describe('infra init drafts: the add-on answers and a mixed estate', () => {
  const addons = { untrusted: false, vmIsolation: false, l7Policies: false, sharedStorage: false, disks: [] as string[] };
  const core: DraftAnswers = {
    ...base,
    site: 'ssh',
    hosts: ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
    hostMemoryGiB: 16,
    clusters: ['core'],
    withExampleApps: false,
    addons: { untrusted: true, vmIsolation: false, l7Policies: true, sharedStorage: true, disks: ['/dev/vdb'] },
  };

  it('untrusted + L7 + shared storage on 3 disked hosts: gvisor, strict → cilium, rook-ceph, each with its rule', () => {
    const { stack, lines } = explainDraft('s.yaml', renderDraft(draftStack(core)), core);
    expect(stack.clusters[0]).toMatchObject({ distribution: 'kubernetes', cni: 'cilium', csi: 'rook-ceph', runtimes: ['gvisor'] });
    expect(stack.hosts.map((h) => h.disks)).toEqual([['/dev/vdb'], ['/dev/vdb'], ['/dev/vdb']]);
    expect(lines).toEqual([
      'clusters[0].distribution = kubernetes  (a core site with capable nodes → Kubernetes)',
      'clusters[0].datastore = embedded-etcd  (Kubernetes of moderate size → etcd stacked on the control-plane nodes)',
      'clusters[0].cni = cilium  (strict security needs (L7 policies) → Cilium (eBPF))',
      'clusters[0].csi = rook-ceph  (shared storage with 3 hosts with spare disks → Rook-Ceph (replicated block/file storage))',
      'clusters[0].security = strict  (L7 network policies (HTTP paths, methods) → strict security, which Cilium enforces)',
      'clusters[0].runtimes = gvisor  (untrusted workloads → gVisor (runsc: the kernel in user space))',
    ]);
  });

  it('shared storage with too few disked hosts is local-path, saying how many; no untrusted workloads is runc only', () => {
    const a: DraftAnswers = { ...core, hosts: ['192.0.2.1', '192.0.2.2'], addons: { ...addons, sharedStorage: true, disks: ['/dev/vdb', '/dev/vdc'] } };
    const { stack, lines } = explainDraft('s.yaml', renderDraft(draftStack(a)), a);
    expect(stack.clusters[0]).toMatchObject({ csi: 'local-path', cni: 'flannel', runtimes: [] });
    expect(lines).toContain('clusters[0].csi = local-path  (shared storage wanted, but only 2 hosts have spare disks and Rook-Ceph needs 3 to replicate → local persistent volumes (node-bound))');
    expect(lines).toContain('clusters[0].runtimes = runc  (no untrusted workloads → containerd with runc only)');
    expect(lines).toContain('clusters[0].security = standard  (L3/L4 network policies are enough → standard security)');
  });

  it('a core site and an edge site in one stack: each cluster on its site, decided by its own rules; overrides stay per site', () => {
    const a: DraftAnswers = {
      ...core,
      gitops: { source: 'fleet', url: 'https://example.com/fleet.git', branch: 'main', path: '.' },
      more: [{ site: 'ssh', edge: true, unreliableNetwork: false, hosts: ['198.51.100.7'], arm: true, clusters: ['shop'], addons, siteOverrides: { datastore: 'embedded-etcd' } }],
    };
    const { stack, lines } = explainDraft('s.yaml', renderDraft(draftStack(a)), a);
    expect(stack.sites.map((s) => [s.name, s.kind, s.edge])).toEqual([['site', 'ssh', false], ['edge', 'ssh', true]]);
    expect(stack.hosts.map((h) => [h.name, h.site, h.address])).toEqual([['host-1', 'site', '192.0.2.1'], ['host-2', 'site', '192.0.2.2'], ['host-3', 'site', '192.0.2.3'], ['host-4', 'edge', '198.51.100.7']]);
    expect(stack.clusters.map((c) => [c.name, c.site, c.distribution, c.datastore, c.cni, c.csi, c.runtimes])).toEqual([
      ['core', 'site', 'kubernetes', 'embedded-etcd', 'cilium', 'rook-ceph', ['gvisor']],
      ['shop', 'edge', 'k3s', 'embedded-etcd', 'flannel', 'local-path', []],
    ]);
    expect(lines).toContain('clusters[1].distribution = k3s  (edge site → K3s (single binary, control plane under ~250 MB))');
    expect(lines.some((l) => l.startsWith('clusters[1].datastore'))).toBe(false);
    expect(stack.gitops.apps[0]?.targets.clusters).toEqual(['core', 'shop']);
  });
});
