import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../stacks/issues.ts';
import { parseStack } from '../../stacks/load.ts';
import { placeApp } from '../../reconciler/place/placement.ts';

const stack = (app: string, sites = '') => `apiVersion: infra.dev/v1alpha1
kind: Stack
metadata: {name: demo}
${sites}clusters:
  - name: core-1
    labels: {region: eu, tier: prod}
  - name: core-2
    labels: {region: us, tier: prod}
  - name: edge-1
    labels: {region: eu, tier: edge}
gitops:
  sources:
    - {name: platform, url: ./repo}
  apps:
    - name: web
      source: platform
${app}`;

function issues(text: string): string[] {
  try {
    parseStack('stack.yaml', text);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}|${i.line}|${i.message}`);
    throw err;
  }
  return [];
}

describe('stack placement block', () => {
  it('absent: no placement on the app, placeApp keeps today\'s behaviour', () => {
    const s = parseStack('s.yaml', stack('      targets: {clusters: [core-1], selector: {matchLabels: {tier: edge}}}\n'));
    expect(s.gitops.apps[0]?.placement).toBeUndefined();
    expect(placeApp(s.gitops.apps[0]!, s.clusters).map((c) => c.name)).toEqual(['core-1', 'edge-1']);
  });

  it('fills failover defaults: toleration 30 s, Graciously, failback after 60 s, 4 moves per hour, no data policy', () => {
    const s = parseStack('s.yaml', stack('      targets: {clusters: [core-1, edge-1]}\n      placement:\n        maxClusters: 1\n        preference: [edge-1, core-1]\n        failover: {}\n'));
    expect(s.gitops.apps[0]?.placement).toEqual({
      maxClusters: 1,
      preference: ['edge-1', 'core-1'],
      replicas: 'Duplicated',
      failover: { tolerationSeconds: 30, purgeMode: 'Graciously', failback: { enabled: true, stabilizationSeconds: 60 }, maxMovesPerHour: 4 },
    });
  });

  it('reads every field', () => {
    const s = parseStack(
      's.yaml',
      stack(`      targets: {selector: {matchLabels: {}}}
      placement:
        spreadBy: region
        weights: {core-1: 3, edge-1: 1}
        replicas: Divided
        failover:
          tolerationSeconds: 10
          purgeMode: Never
          failback: {enabled: false, stabilizationSeconds: 5}
          maxMovesPerHour: 2
          data: abandon
`),
    );
    expect(s.gitops.apps[0]?.placement).toEqual({
      spreadBy: 'region',
      weights: { 'core-1': 3, 'edge-1': 1 },
      replicas: 'Divided',
      failover: { tolerationSeconds: 10, purgeMode: 'Never', failback: { enabled: false, stabilizationSeconds: 5 }, maxMovesPerHour: 2, data: 'abandon' },
    });
  });

  it('matchExpressions: In, NotIn, Exists, DoesNotExist all must hold', () => {
    const pick = (exprs: string) => {
      const s = parseStack('s.yaml', stack(`      targets: {selector: {matchExpressions: ${exprs}}}\n`));
      return placeApp(s.gitops.apps[0]!, s.clusters).map((c) => c.name);
    };
    expect(pick('[{key: region, operator: In, values: [eu]}]')).toEqual(['core-1', 'edge-1']);
    expect(pick('[{key: region, operator: NotIn, values: [eu]}]')).toEqual(['core-2']);
    expect(pick('[{key: tier, operator: Exists}]')).toEqual(['core-1', 'core-2', 'edge-1']);
    expect(pick('[{key: gpu, operator: DoesNotExist}, {key: tier, operator: In, values: [prod]}, {key: region, operator: NotIn, values: [us]}]')).toEqual(['core-1']);
    expect(pick('[{key: gpu, operator: Exists}]')).toEqual([]);
  });

  it('reports every problem at once, with path and line', () => {
    const found = issues(
      stack(`      targets:
        clusters: [core-1]
        selector:
          matchExpressions:
            - {key: region, operator: Near, values: [eu]}
            - {key: region, operator: In}
            - {key: region, operator: Exists, values: [eu]}
      placement:
        maxClusters: 0
        preference: [core-1, nowhere]
        weights: {core-1: 2, elsewhere: 1}
        replicas: Halved
        colour: blue
        failover: {purgeMode: Sometimes, maxMovesPerHour: 0, data: copy}
`),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^gitops\.apps\[0\]\.targets\.selector\.matchExpressions\[0\]\.operator\|21\|expected one of In, NotIn, Exists, DoesNotExist, got "Near"/),
        expect.stringMatching(/^gitops\.apps\[0\]\.targets\.selector\.matchExpressions\[1\]\.values\|22\|In needs at least one value/),
        expect.stringMatching(/^gitops\.apps\[0\]\.targets\.selector\.matchExpressions\[2\]\.values\|23\|Exists takes no values/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.maxClusters\|25\|expected a whole number >= 1, got 0/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.preference\[1\]\|26\|no cluster named "nowhere"/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.weights\|27\|set either preference or weights, not both/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.weights\.elsewhere\|27\|no cluster named "elsewhere"/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.replicas\|28\|expected Duplicated or Divided, got "Halved"/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.colour\|29\|unknown field/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.failover\.purgeMode\|30\|expected one of Graciously, Immediately, Never/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.failover\.maxMovesPerHour\|30\|expected a whole number >= 1/),
        expect.stringMatching(/^gitops\.apps\[0\]\.placement\.failover\.data\|30\|expected abandon or replicated, got "copy"/),
      ]),
    );
    expect(found).toHaveLength(12);
  });

  it('Divided without any workload in the app is fine', () => {
    expect(issues(stack('      targets: {clusters: [core-1, core-2]}\n      placement: {replicas: Divided}\n'))).toEqual([]);
  });

  it('every cluster gets infra.dev/site-kind: the site\'s site-kind label, edge for edge sites, else dc; its own labels win', () => {
    const sites = `sites:
  - {name: home, kind: local}
  - {name: shop, kind: local, edge: true}
  - {name: aws, kind: local, labels: {site-kind: cloud}}
`;
    const text = stack('      targets: {clusters: [core-1]}\n', sites)
      .replace('  - name: core-1\n', '  - name: core-1\n    site: home\n')
      .replace('  - name: core-2\n', '  - name: core-2\n    site: aws\n')
      .replace('  - name: edge-1\n    labels: {region: eu, tier: edge}', '  - name: edge-1\n    site: shop\n    labels: {region: eu, tier: edge}\n  - name: odd\n    site: home\n    labels: {infra.dev/site-kind: cloud}');
    const s = parseStack('s.yaml', text);
    expect(Object.fromEntries(s.clusters.map((c) => [c.name, c.labels['infra.dev/site-kind']]))).toEqual({ 'core-1': 'dc', 'core-2': 'cloud', 'edge-1': 'edge', odd: 'cloud' });
    expect(issues(text.replace('site-kind: cloud}}', 'site-kind: moon}}'))).toEqual([expect.stringMatching(/^sites\[2\]\.labels\.site-kind\|\d+\|expected one of cloud, edge, dc, got "moon"/)]);
  });
});
