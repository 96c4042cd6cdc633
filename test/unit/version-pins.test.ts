import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decidePins } from '../../clusters/local/version-pins.ts';
import { ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION } from '../../clusters/tools/versions.ts';
import { CLI_TEST_TIMEOUT_MS, runInfra } from '../harness/cli.ts';

/** These tests start the real CLI as processes (Node, then TypeScript loading): on a loaded 2-core machine that alone can take several seconds. */

const pins = (k: string, e: string, w = '0.7.0') => ({ kubernetesVersion: k, etcdVersion: e, kwokVersion: w });

describe('pinned versions of a local cluster', () => {
  it('same versions start as they are; kwok alone is recorded; Kubernetes and etcd move one minor at a time, never down', () => {
    expect(decidePins(pins('1.34.4', '3.6.16'), pins('1.34.4', '3.6.16'))).toEqual({ kind: 'same' });
    expect(decidePins(pins('1.34.4', '3.6.16', '0.6.0'), pins('1.34.4', '3.6.16')).kind).toBe('record');
    expect(decidePins(pins('1.33.2', '3.5.21'), pins('1.34.4', '3.6.16')).kind).toBe('upgrade');
    expect(decidePins(pins('1.34.1', '3.6.16'), pins('1.34.4', '3.6.16')).kind).toBe('upgrade');
    expect(decidePins(pins('1.32.0', '3.6.16'), pins('1.34.4', '3.6.16'))).toMatchObject({ kind: 'refuse', why: expect.stringMatching(/skips minor versions/) });
    expect(decidePins(pins('1.35.0', '3.6.16'), pins('1.34.4', '3.6.16'))).toMatchObject({ kind: 'refuse', why: expect.stringMatching(/downgrades/) });
  });
});

describe('infra local up on a cluster made with other versions', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'infra-pins-'));
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  async function clusterMadeWith(name: string, kubernetes: string, etcd: string): Promise<void> {
    const dir = join(home, 'local', name);
    await mkdir(dir, { recursive: true });
    const state = {
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'LocalCluster',
      name,
      nodes: 1,
      ports: { apiserver: 40001, etcdClient: 40002, etcdPeer: 40003, kwok: 40004 },
      kubernetesVersion: kubernetes,
      etcdVersion: etcd,
      kwokVersion: KWOK_VERSION,
      unsafeNoFsync: false,
      createdAt: '2026-01-01T00:00:00Z',
    };
    await writeFile(join(dir, 'cluster.json'), JSON.stringify(state));
  }

  it('refuses to start, naming both versions and the command that upgrades', async () => {
    const [major, minor] = KUBERNETES_VERSION.split('.');
    const older = `${major}.${Number(minor) - 1}.0`;
    await clusterMadeWith('old', older, ETCD_VERSION);
    const r = await runInfra(['local', 'up', 'old'], { ...process.env, INFRA_HOME: home });
    expect(r.code, r.stderr).toBe(14);
    expect(r.stderr).toContain(`made with Kubernetes ${older}`);
    expect(r.stderr).toContain(`infra now runs Kubernetes ${KUBERNETES_VERSION}`);
    expect(r.stderr).toContain('infra local up old --upgrade');
  });

  it('refuses even with --upgrade when the step skips a minor version, and says how to start afresh', async () => {
    const [major, minor] = KUBERNETES_VERSION.split('.');
    await clusterMadeWith('ancient', `${major}.${Number(minor) - 2}.0`, ETCD_VERSION);
    const r = await runInfra(['local', 'up', 'ancient', '--upgrade'], { ...process.env, INFRA_HOME: home });
    expect(r.code, r.stderr).toBe(14);
    expect(r.stderr).toMatch(/skips minor versions/);
    expect(r.stderr).toContain('infra local down ancient --purge');
  });
});
