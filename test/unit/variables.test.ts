import { describe, expect, it } from 'vitest';
import { RenderError } from '../../reconciler/errors.ts';
import { substituteManifests, substituteString } from '../../reconciler/render/variables.ts';

const scope = { cluster: { name: 'edge-1', labels: { region: 'eu' } }, vars: { tier: 'gold' } };

describe('per-cluster variables', () => {
  it('substitutes cluster name, labels and app variables', () => {
    expect(substituteString('${cluster.name}/${cluster.labels.region}/${var.tier}', scope, 'f')).toBe('edge-1/eu/gold');
  });

  it('keeps $${...} literal', () => {
    expect(substituteString('$${cluster.name}', scope, 'f')).toBe('${cluster.name}');
  });

  it('works on parsed values, so a value cannot inject structure', () => {
    const [m] = substituteManifests([{ object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { v: '${var.tier}' } }, origin: { file: 'a.yaml', line: 3 } }], {
      ...scope,
      vars: { tier: 'a: b\nc: d' },
    });
    expect((m?.object as unknown as { data: { v: string } }).data.v).toBe('a: b\nc: d');
  });

  it('names file and variable when one is unknown', () => {
    expect(() => substituteString('${var.nope}', scope, 'apps/x.yaml:4')).toThrow(RenderError);
    try {
      substituteString('${var.nope}', scope, 'apps/x.yaml:4');
    } catch (err) {
      expect((err as RenderError).where).toBe('apps/x.yaml:4');
      expect((err as RenderError).message).toContain('${var.nope}');
    }
  });
});
