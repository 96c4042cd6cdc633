import { describe, expect, it } from 'vitest';
import { draftStack, explainDefaults, renderDraft, type DraftAnswers } from '../../stacks/draft.ts';

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
