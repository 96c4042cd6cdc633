import { describe, expect, it } from 'vitest';
import { parseStack } from '../../stacks/load.ts';

const stack = (body: string) => parseStack('s.yaml', `apiVersion: infra.dev/v1alpha1\nkind: Stack\n${body}`);

describe('stack defaults follow docs/DECISIONS.md, and say which rule chose them', () => {
  it('a local site gets local clusters with their own etcd and no storage', () => {
    const s = stack('sites:\n  - {name: here, kind: local}\nclusters:\n  - {name: core}\n');
    expect(s.clusters[0]).toMatchObject({ distribution: 'local', local: true, datastore: 'embedded-etcd', cni: 'flannel', csi: 'none', version: '1.34.4', labels: { site: 'here' } });
    expect(s.decisions.find((d) => d.path === 'clusters[0].distribution')?.rule).toMatch(/local site/);
  });

  it('an edge site gets K3s on SQLite with local-path storage', () => {
    const s = stack(
      'sites:\n  - {name: shop, kind: ssh, edge: true}\nhosts:\n  - {name: pi, site: shop, address: 192.0.2.10, arch: arm64, memoryGiB: 2}\nclusters:\n  - {name: shop, hosts: [pi]}\n',
    );
    expect(s.clusters[0]).toMatchObject({ distribution: 'k3s', datastore: 'sqlite', csi: 'local-path', cni: 'flannel' });
    expect(s.decisions.map((d) => `${d.path}=${d.value}`)).toEqual(
      expect.arrayContaining(['clusters[0].distribution=k3s', 'clusters[0].datastore=sqlite', 'clusters[0].csi=local-path']),
    );
  });

  it('a core site with 3 disked hosts gets Kubernetes, Rook-Ceph; strict security gets Cilium; HA K3s gets embedded etcd', () => {
    const hosts = [1, 2, 3].map((i) => `  - {name: h${i}, site: dc, address: 192.0.2.${i}, memoryGiB: 16, disks: [/dev/vdb]}`).join('\n');
    const s = stack(
      `sites:\n  - {name: dc, kind: ssh}\n  - {name: edge, kind: ssh, edge: true}\nhosts:\n${hosts}\n  - {name: e1, site: edge, address: 192.0.2.9}\nclusters:\n  - {name: core, site: dc, hosts: [h1, h2, h3], security: strict}\n  - {name: edge, site: edge, hosts: [e1], controlPlanes: 3}\n`,
    );
    expect(s.clusters[0]).toMatchObject({ distribution: 'kubernetes', csi: 'rook-ceph', cni: 'cilium', datastore: 'embedded-etcd' });
    expect(s.clusters[1]).toMatchObject({ distribution: 'k3s', datastore: 'embedded-etcd' });
  });

  it('what the user wrote wins, and impossible combinations are errors with lines', () => {
    const s = stack('sites:\n  - {name: dc, kind: ssh}\nhosts:\n  - {name: h1, site: dc, address: 192.0.2.1}\nclusters:\n  - {name: c, hosts: [h1], distribution: k3s, cni: cilium}\n');
    expect(s.clusters[0]).toMatchObject({ distribution: 'k3s', cni: 'cilium' });
    expect(s.decisions.some((d) => d.path === 'clusters[0].cni')).toBe(false);
    expect(() => stack('sites:\n  - {name: dc, kind: kvm}\nclusters:\n  - {name: c, distribution: local, datastore: sqlite, controlPlanes: 3}\n')).toThrow(
      /sites\[0\]\.uri: a kvm site needs its libvirt URI.*\(s\.yaml:4\)[\s\S]*clusters\[0\]\.distribution: local clusters run on a local site[\s\S]*clusters\[0\]\.datastore: sqlite serves a single server/,
    );
  });
});
