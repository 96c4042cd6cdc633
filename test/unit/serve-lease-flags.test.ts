import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runInfra } from '../harness/cli.ts';

/** Lease timings that cannot fence are a usage error before anything is contacted. */
describe('infra serve lease flags', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-lease-flags-'));
    await writeFile(join(dir, 'stack.yaml'), 'apiVersion: infra.dev/v1alpha1\nkind: Stack\nmetadata: {name: flags}\nclusters:\n  - {name: c1, kubeconfig: ./c1.kubeconfig}\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a renew deadline not shorter than the lease duration exits 2 and names both', async () => {
    const r = await runInfra(['serve', '-f', join(dir, 'stack.yaml'), '--management-kubeconfig', join(dir, 'missing.kubeconfig'), '--renew-deadline', '20s'], { ...process.env, INFRA_HOME: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/renew deadline 20000 ms must be shorter than the lease duration 15000 ms/);
  });

  it('a bad duration is a usage error naming the flag', async () => {
    const r = await runInfra(['serve', '-f', join(dir, 'stack.yaml'), '--management-kubeconfig', join(dir, 'missing.kubeconfig'), '--lease-duration', 'soon'], { ...process.env, INFRA_HOME: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--lease-duration/);
  });
});
