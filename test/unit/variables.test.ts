import { describe, expect, it } from 'vitest';
import { RenderError } from '../../reconciler/errors.ts';
import { substituteManifests, substituteString } from '../../reconciler/render/variables.ts';
import { parseManifests } from '../../reconciler/render/yaml-files.ts';
import type { Manifest } from '../../reconciler/types.ts';

const scope = { cluster: { name: 'edge-1', labels: { region: 'eu' } }, vars: { tier: 'gold' } };

function errorOf(fn: () => unknown): RenderError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RenderError) return err;
    throw err;
  }
  throw new Error('expected a RenderError');
}

describe('per-cluster variables', () => {
  it('substitutes cluster name, labels and app variables', () => {
    expect(substituteString('${cluster.name}/${cluster.labels.region}/${var.tier}', scope, 'f')).toBe('edge-1/eu/gold');
  });

  it('keeps $${...} of our namespaces as a literal ${...}', () => {
    expect(substituteString('$${cluster.name} $${var.tier}', scope, 'f')).toBe('${cluster.name} ${var.tier}');
  });

  it('leaves every other ${...} and $NAME byte for byte', () => {
    const script = '#!/bin/sh\nname="${1}"\necho "$name ${HOME} $HOME ${datasource} ${ var } ${varx.y} $${other} ${}"\n';
    expect(substituteString(script, scope, 'f')).toBe(script);
    expect(substituteString('{"datasource": "${datasource}", "c": "${cluster.name}"}', scope, 'f')).toBe('{"datasource": "${datasource}", "c": "edge-1"}');
  });

  it('works on parsed values, so a value cannot inject structure', () => {
    const [m] = substituteManifests([{ object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { v: '${var.tier}' } }, origin: { file: 'a.yaml', line: 3 } }], {
      ...scope,
      vars: { tier: 'a: b\nc: d' },
    });
    expect((m?.object as unknown as { data: { v: string } }).data.v).toBe('a: b\nc: d');
  });

  it('names file and variable when one is unknown, or an unknown cluster field', () => {
    const err = errorOf(() => substituteString('${var.nope}', scope, 'apps/x.yaml:4'));
    expect(err.where).toBe('apps/x.yaml:4');
    expect(err.message).toContain('${var.nope}');
    expect(errorOf(() => substituteString('${cluster.zone}', scope, 'f')).message).toContain('${cluster.zone}');
    expect(errorOf(() => substituteString('${var.toString}', scope, 'f')).message).toContain('${var.toString}');
  });

  it('points at the line of the offending string, not the start of the document', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  ok: ${var.tier}\n  list:\n    - x\n    - ${var.missing}\n';
    const manifests = parseManifests(`---\n${text}`, 'apps/cm.yaml');
    expect(manifests[0]?.origin.line).toBe(2);
    const err = errorOf(() => substituteManifests(manifests, scope));
    expect(err.where).toBe('apps/cm.yaml:10');
    const block = parseManifests('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  run.sh: |\n    echo "${1}"\n    echo "${var.nope}"\n', 'apps/b.yaml');
    expect(errorOf(() => substituteManifests(block, scope)).where).toBe('apps/b.yaml:8');
  });

  it('is turned off per object by annotation and per app by option', () => {
    const object = (annotations?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', ...(annotations ? { annotations } : {}) }, data: { v: '${var.undefined}' } });
    const off: Manifest = { object: object({ 'infra.dev/substitute': 'disabled' }), origin: { file: 'a.yaml' } };
    expect(substituteManifests([off], scope)[0]?.object).toEqual(off.object);
    const plain: Manifest = { object: object(), origin: { file: 'a.yaml' } };
    expect(substituteManifests([plain], scope, { enabled: false })[0]?.object).toEqual(plain.object);
    expect(() => substituteManifests([plain], scope)).toThrow(RenderError);
  });
});
