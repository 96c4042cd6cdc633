import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { jsonSchema } from '../../stacks/schema.ts';
import { parseStack } from '../../stacks/load.ts';

describe('stack JSON Schema', () => {
  it('the published file is generated from the same source as the parser (run `infra schema > stacks/stack.schema.json`)', async () => {
    const published = JSON.parse(await readFile(new URL('../../stacks/stack.schema.json', import.meta.url), 'utf8'));
    expect(published).toEqual(jsonSchema());
  });

  it('lists every cluster field the parser accepts, with the same allowed values', () => {
    const cluster = (jsonSchema() as any).properties.clusters.items;
    expect(cluster.properties.cni.enum).toEqual(['flannel', 'cilium', 'bridge']);
    expect(cluster.additionalProperties).toBe(false);
    expect(() => parseStack('s.yaml', 'apiVersion: infra.dev/v1alpha1\nkind: Stack\nclusters:\n  - name: a\n    cni: calico\n')).toThrow(
      'clusters[0].cni: expected one of flannel, cilium, bridge, got "calico" (s.yaml:5)',
    );
  });

  it('bootstrap picks kubeadm for a kubernetes cluster (default: absent = binaries) and is refused elsewhere', () => {
    const stack = (extra: string) => `apiVersion: infra.dev/v1alpha1\nkind: Stack\nsites:\n  - name: lab\n    kind: ssh\nhosts:\n  - name: h1\n    site: lab\n    address: 10.0.0.1\nclusters:\n  - name: a\n    site: lab\n    hosts: [h1]\n${extra}`;
    expect(parseStack('s.yaml', stack('    distribution: kubernetes\n    bootstrap: kubeadm\n')).clusters[0]?.bootstrap).toBe('kubeadm');
    expect(parseStack('s.yaml', stack('    distribution: kubernetes\n')).clusters[0]?.bootstrap).toBeUndefined();
    expect(() => parseStack('s.yaml', stack('    distribution: k3s\n    bootstrap: kubeadm\n'))).toThrow(/bootstrap picks how a kubernetes cluster is made; k3s has none/);
    expect(() => parseStack('s.yaml', stack('    distribution: kubernetes\n    bootstrap: kubespray\n'))).toThrow(/expected binaries or kubeadm/);
  });
});
