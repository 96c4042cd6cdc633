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
    expect(cluster.properties.cni.enum).toEqual(['flannel', 'cilium']);
    expect(cluster.additionalProperties).toBe(false);
    expect(() => parseStack('s.yaml', 'apiVersion: infra.dev/v1alpha1\nkind: Stack\nclusters:\n  - name: a\n    cni: calico\n')).toThrow(
      'clusters[0].cni: expected flannel or cilium, got "calico" (s.yaml:5)',
    );
  });
});
