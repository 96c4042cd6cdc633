import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../stacks/issues.ts';
import { parseStack } from '../../stacks/load.ts';
import { placeApp } from '../../reconciler/place/placement.ts';
import { dependencyWaves } from '../../reconciler/reconcile.ts';

const valid = `apiVersion: infra.dev/v1alpha1
kind: Stack
metadata: {name: demo}
clusters:
  - name: core
    labels: {tier: core}
  - name: edge
    kubeconfig: edge.kubeconfig
    labels: {tier: edge}
gitops:
  sources:
    - name: platform
      url: ./repo
      ref: {branch: main}
  apps:
    - name: base
      source: platform
      path: base
      targets: {selector: {matchLabels: {}}}
    - name: web
      source: platform
      path: web
      dependsOn: [base]
      targets: {clusters: [core], selector: {matchLabels: {tier: edge}}}
`;

describe('stack gitops section', () => {
  it('loads apps, sources and clusters with defaults', () => {
    const stack = parseStack('/work/s/stack.yaml', valid);
    expect(stack.gitops.sources[0]?.url).toBe('/work/s/repo');
    expect(stack.clusters[1]?.kubeconfig).toBe('/work/s/edge.kubeconfig');
    expect(stack.clusters[0]?.local).toBe(true);
    const web = stack.gitops.apps[1];
    expect(web).toMatchObject({ prune: true, wait: true, timeoutMs: 120_000, drift: 'correct', conflicts: 'force', render: 'auto' });
    expect(placeApp(web!, stack.clusters).map((c) => c.name)).toEqual(['core', 'edge']);
    expect(dependencyWaves(stack.gitops.apps).map((w) => w.map((a) => a.name))).toEqual([['base'], ['web']]);
  });

  it('reads createNamespace (default false) and gitops.orphan, which may only name apps that left the stack', () => {
    const stack = parseStack('s.yaml', valid.replace('      path: base\n', '      path: base\n      createNamespace: true\n').replace('  apps:\n', '  orphan: [old-app]\n  apps:\n'));
    expect(stack.gitops.apps.map((a) => a.createNamespace)).toEqual([true, false]);
    expect(stack.gitops.orphan).toEqual(['old-app']);
    expect(() => parseStack('s.yaml', valid.replace('  apps:\n', '  orphan: [web]\n  apps:\n'))).toThrow('gitops.orphan[0]: app "web" is still in the stack');
    expect(() => parseStack('s.yaml', valid.replace('      path: base\n', '      path: base\n      createNamespace: yes please\n'))).toThrow(/createNamespace/);
  });

  it('reads a source webhook secret as a file (relative to the stack) or an env name, never the secret itself', () => {
    const withFile = parseStack('/work/s/stack.yaml', valid.replace('      ref: {branch: main}\n', '      ref: {branch: main}\n      webhook: {secretFile: secrets/hook}\n'));
    expect(withFile.gitops.sources[0]?.webhook).toEqual({ secretFile: '/work/s/secrets/hook' });
    const withEnv = parseStack('/work/s/stack.yaml', valid.replace('      ref: {branch: main}\n', '      ref: {branch: main}\n      webhook: {secretEnv: HOOK_SECRET}\n'));
    expect(withEnv.gitops.sources[0]?.webhook).toEqual({ secretEnv: 'HOOK_SECRET' });
    expect(parseStack('s.yaml', valid).gitops.sources[0]?.webhook).toBeUndefined();
    expect(() => parseStack('s.yaml', valid.replace('      ref: {branch: main}\n', '      ref: {branch: main}\n      webhook: {secret: hunter2}\n'))).toThrow(/gitops\.sources\[0\]\.webhook.*exactly one of secretFile or secretEnv/);
    expect(() => parseStack('s.yaml', valid.replace('      ref: {branch: main}\n', '      ref: {branch: main}\n      webhook: {secretEnv: "not a name"}\n'))).toThrow(/secretEnv/);
  });

  it('reports every problem at once, with path and line', () => {
    const broken = valid
      .replace('ref: {branch: main}', 'ref: {branch: main, tag: v1}')
      .replace('path: web\n', 'path: web\n      drift: sometimes\n      timeout: soon\n')
      .replace('dependsOn: [base]', 'dependsOn: [nope]')
      .replace('clusters: [core]', 'clusters: [core, mars]')
      .replace('    - name: base', '    - name: Base_1\n      colour: blue');
    let error: ValidationError | undefined;
    try {
      parseStack('stack.yaml', broken);
    } catch (err) {
      error = err as ValidationError;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const lines = error!.issues.map((i) => `${i.path}|${i.line}|${i.message}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^gitops\.sources\[0\]\.ref\|14\|expected exactly one of branch, tag or commit/),
        expect.stringMatching(/^gitops\.apps\[0\]\.name\|16\|expected a lowercase name/),
        expect.stringMatching(/^gitops\.apps\[0\]\.colour\|17\|unknown field/),
        expect.stringMatching(/^gitops\.apps\[1\]\.drift\|\d+\|expected correct or detect, got "sometimes"/),
        expect.stringMatching(/^gitops\.apps\[1\]\.timeout\|\d+\|expected a duration/),
        expect.stringMatching(/^gitops\.apps\[1\]\.dependsOn\[0\]\|\d+\|no app named "nope"/),
        expect.stringMatching(/^gitops\.apps\[1\]\.targets\.clusters\[1\]\|\d+\|no cluster named "mars"/),
      ]),
    );
    expect(error!.message).toMatch(/stack\.yaml has \d+ problem\(s\)/);
  });

  it('reads helm settings and substitution, and reports bad ones with their path', () => {
    const withHelm = valid.replace('      path: web\n', '      path: web\n      substitute: false\n      helm: {releaseName: shop, valuesFiles: [values-eu.yaml], values: {a: 1}, kubeVersion: 1.30.0, apiVersions: [v1, policy/v1/PodDisruptionBudget]}\n');
    const web = parseStack('stack.yaml', withHelm).gitops.apps[1];
    expect(web?.substitute).toBe(false);
    expect(web?.helm).toEqual({ releaseName: 'shop', valuesFiles: ['values-eu.yaml'], values: { a: 1 }, kubeVersion: '1.30.0', apiVersions: ['v1', 'policy/v1/PodDisruptionBudget'] });
    expect(parseStack('stack.yaml', valid).gitops.apps[1]).toMatchObject({ substitute: true, helm: { values: {}, valuesFiles: [] } });
    const broken = valid.replace('      path: web\n', '      path: web\n      helm: {valuesFiles: [../secrets.yaml], kubeVersion: latest, apiVersions: ["not a version"], chart: x}\n');
    let error: ValidationError | undefined;
    try {
      parseStack('stack.yaml', broken);
    } catch (err) {
      error = err as ValidationError;
    }
    expect(error?.issues.map((i) => `${i.path}|${i.message}`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^gitops\.apps\[1\]\.helm\.valuesFiles\[0\]\|must be a path inside the chart folder/),
        expect.stringMatching(/^gitops\.apps\[1\]\.helm\.kubeVersion\|expected a Kubernetes version/),
        expect.stringMatching(/^gitops\.apps\[1\]\.helm\.apiVersions\[0\]\|expected group\/version/),
        expect.stringMatching(/^gitops\.apps\[1\]\.helm\.chart\|unknown field/),
      ]),
    );
  });

  it('rejects dependsOn cycles and bad YAML with a line', () => {
    const cyclic = valid.replace('      path: base\n', '      path: base\n      dependsOn: [web]\n');
    expect(() => parseStack('s.yaml', cyclic)).toThrow(/dependsOn forms a cycle: (base → web → base|web → base → web)/);
    expect(() => parseStack('s.yaml', 'apiVersion: [\n')).toThrow(/\(s\.yaml:\d+\)/);
  });
});
