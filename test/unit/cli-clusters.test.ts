import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileHealthStore, defaultHealthFile } from '../../clusters/health/health-store.ts';
import { CLI_TEST_TIMEOUT_MS, runInfra } from '../harness/cli.ts';

/** `infra clusters`: the stack's clusters with the health serve stored (here: the file store), as a table and as JSON. */
describe('infra clusters', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-clusters-'));
    await writeFile(
      join(dir, 'stack.yaml'),
      'apiVersion: infra.dev/v1alpha1\nkind: Stack\nmetadata: {name: h}\nclusters:\n  - {name: edge-1, kubeconfig: ./e.kubeconfig, labels: {site-kind: edge, region: r1}}\n  - {name: core-1, kubeconfig: ./c.kubeconfig}\n  - {name: dc-1, kubeconfig: ./d.kubeconfig}\n',
    );
    const store = new FileHealthStore(defaultHealthFile('h', { INFRA_HOME: dir }));
    await store.save({ cluster: 'edge-1', state: 'Unknown', since: Date.parse('2026-11-26T07:00:05Z'), unhealthySince: Date.parse('2026-11-26T07:00:00Z'), reachable: false });
    await store.save({ cluster: 'core-1', state: 'Ready', since: Date.parse('2026-11-26T06:00:00Z'), readySince: Date.parse('2026-11-26T06:00:00Z'), reachable: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints each cluster sorted, its health and since when, from the store serve wrote', async () => {
    const r = await runInfra(['clusters', '-f', join(dir, 'stack.yaml')], { ...process.env, INFRA_HOME: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'CLUSTER  HEALTH    SINCE                     UNHEALTHY SINCE           LABELS',
        'core-1   Ready     2026-11-26T06:00:00.000Z  -                         infra.dev/site-kind=dc',
        'dc-1     NoRecord  -                         -                         infra.dev/site-kind=dc',
        // The cluster's own `site-kind` label decides its site kind.
        'edge-1   Unknown   2026-11-26T07:00:05.000Z  2026-11-26T07:00:00.000Z  infra.dev/site-kind=edge,region=r1,site-kind=edge',
        '',
      ].join('\n'),
    );
  });

  it('--json gives the same rows as data', async () => {
    const r = await runInfra(['clusters', '-f', join(dir, 'stack.yaml'), '--json'], { ...process.env, INFRA_HOME: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { cluster: 'core-1', state: 'Ready', since: '2026-11-26T06:00:00.000Z', readySince: '2026-11-26T06:00:00.000Z', labels: { 'infra.dev/site-kind': 'dc' } },
      { cluster: 'dc-1', state: 'NoRecord', labels: { 'infra.dev/site-kind': 'dc' } },
      { cluster: 'edge-1', state: 'Unknown', since: '2026-11-26T07:00:05.000Z', unhealthySince: '2026-11-26T07:00:00.000Z', labels: { 'infra.dev/site-kind': 'edge', region: 'r1', 'site-kind': 'edge' } },
    ]);
  });
});
