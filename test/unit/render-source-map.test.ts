import { describe, expect, it } from 'vitest';
import { documentLine, helmSource, kustomizeSource, ORIGIN_ANNOTATION, variableLine } from '../../reconciler/render/source-map.ts';
import { parseDocuments } from '../../reconciler/render/yaml-files.ts';
import type { KubeObject } from '../../reconciler/types.ts';

const cm = (name: string, annotations?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(annotations ? { annotations } : {}) } });

describe('locations mapped back to source files', () => {
  it('reads helm\'s # Source: comment of each rendered document', () => {
    const docs = parseDocuments('---\n# Source: shop/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: shop/charts/db/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n', 'out');
    expect(docs.map((d) => helmSource(d.comment, 'charts/shop'))).toEqual(['charts/shop/templates/a.yaml', 'charts/shop/charts/db/templates/b.yaml']);
  });

  it('maps kustomize origin annotations to repository paths and strips them', () => {
    const { object, source } = kustomizeSource(cm('p-a', { [ORIGIN_ANNOTATION]: 'path: ../repo/kz/base/cm.yaml\n', keep: 'yes' }), '/tmp/build', '/tmp/repo');
    expect(source).toBe('kz/base/cm.yaml');
    expect(object.metadata.annotations).toEqual({ keep: 'yes' });
    const generated = kustomizeSource(cm('gen', { [ORIGIN_ANNOTATION]: 'configuredIn: ../repo/kz/overlay/kustomization.yaml\nconfiguredBy:\n  kind: ConfigMapGenerator\n' }), '/tmp/build', '/tmp/repo');
    expect(generated.source).toBe('kz/overlay/kustomization.yaml');
    expect(generated.object.metadata.annotations).toBeUndefined();
    expect(kustomizeSource(cm('x'), '/b', '/r')).toEqual({ object: cm('x'), source: undefined });
  });

  it('finds the document of an object and the line of a variable in the source text', () => {
    const lines = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tuning\ndata:\n  tier: ${var.tier}\n'.split('\n');
    expect(documentLine(lines, cm('prod-tuning'))).toBe(6);
    expect(documentLine(lines, cm('prod-settings'))).toBe(1);
    expect(variableLine(lines, 'gold-${var.tier}')).toBe(11);
    expect(variableLine(lines, 'no variable')).toBeUndefined();
  });
});
