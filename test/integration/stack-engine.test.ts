import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { killComponent, runningProcess } from '../../clusters/local/processes.ts';
import { processesMentioning } from '../../clusters/host/process-table.ts';
import { BINARY_NAMES } from '../../clusters/tools/versions.ts';
import { waitFor } from '../../clusters/wait.ts';
import { runInfra, startInfra } from '../harness/cli.ts';

/**
 * The main job on the real Pulumi engine: the embedded default stack (two local clusters and
 * the example apps of this repository) brought up, left alone, changed, broken, repaired and
 * destroyed, as a user does it with the CLI.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let home: string;
let env: NodeJS.ProcessEnv;
let stackFile: string;
let original: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'infra-engine-'));
  env = { ...process.env, INFRA_HOME: home };
  original = (await readFile(join(ROOT, 'stacks', 'local.yaml'), 'utf8')).replace('url: ..  ', `url: ${ROOT}`);
  stackFile = join(home, 'local.yaml');
  await writeFile(stackFile, original);
});

afterAll(async () => {
  await runInfra(['destroy', '-f', stackFile], env);
  for (const c of ['core', 'edge']) await runInfra(['local', 'down', c, '--purge'], env);
  await rm(home, { recursive: true, force: true });
});

const leftovers = (name: string) => processesMentioning(`${clusterLayout(name, env).dir}/`, new Set(BINARY_NAMES));

describe('infra up on the embedded local stack', () => {
  it('brings up two clusters and ends with every app Healthy, printing the status', async () => {
    const r = await runInfra(['up', '-f', stackFile], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/up of stack "local": 2 create/);
    expect(r.stdout).toMatch(/hello\s+core\s+[0-9a-f]{12}\s+Synced\s+Healthy/);
    expect(r.stdout).toMatch(/hello\s+edge\s+[0-9a-f]{12}\s+Synced\s+Healthy/);
    expect(r.stdout).toMatch(/edge-agent\s+edge\s+[0-9a-f]{12}\s+Synced\s+Healthy/);
    expect(r.stdout).not.toMatch(/edge-agent\s+core/);
  });

  it('reports no changes on a second up', async () => {
    const r = await runInfra(['up', '-f', stackFile, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { changes: Record<string, number>; apps: { health: string }[] };
    expect(out.changes).toEqual({ same: 2 });
    expect(out.apps.every((a) => a.health === 'Healthy')).toBe(true);
  });

  it('previews exactly the change after the stack is edited', async () => {
    await writeFile(stackFile, original.replace(/(name: edge\n\s+)nodes: 1/, '$1nodes: 3'));
    const r = await runInfra(['preview', '-f', stackFile, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { steps: { op: string; name: string }[]; changes: Record<string, number> };
    expect(plan.steps).toEqual([{ op: 'update', type: expect.stringContaining('LocalCluster'), name: 'local:edge' }]);
    await writeFile(stackFile, original);
  });

  it('shows a killed cluster on refresh, and up repairs it', async () => {
    await killComponent(clusterLayout('edge', env), 'kube-apiserver');
    const refresh = await runInfra(['refresh', '-f', stackFile], env);
    expect(refresh.stdout).toMatch(/refresh of stack "local": 1 update/);
    expect((await runInfra(['stack', 'ls', '-f', stackFile], env)).stdout).toMatch(/local:edge\s+not running/);

    const up = await runInfra(['up', '-f', stackFile], env);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/1 update/);
    expect(runningProcess(clusterLayout('edge', env), 'kube-apiserver')).toBeDefined();
  });

  it('lets a second concurrent up fail fast with a lock message', async () => {
    const first = startInfra(['up', '-f', stackFile], env);
    const locked = await waitFor(async () => (existsSync(join(home, 'locks', 'local.lock')) ? true : undefined), { timeoutMs: 30_000, intervalMs: 20 });
    expect(locked).toBe(true);
    const second = await runInfra(['up', '-f', stackFile], env);
    expect(second.code).toBe(7);
    expect(second.stderr).toMatch(/stack "local" is being changed by another infra process/);
    await new Promise((resolve) => first.once('exit', resolve));
  });

  it('finishes on the next up a create that Ctrl-C interrupted midway', async () => {
    const withExtra = original.replace('gitops:', '  - name: extra\n    nodes: 1\n    labels: {tier: cloud, region: local-3}\ngitops:');
    expect(withExtra).toContain('name: extra');
    await writeFile(stackFile, withExtra);
    const child = startInfra(['up', '-f', stackFile], env);
    const creating = await waitFor(async () => (existsSync(join(clusterLayout('extra', env).runDir, 'etcd.pid')) ? true : undefined), { timeoutMs: 60_000, intervalMs: 20 });
    expect(creating, 'the LocalCluster create started').toBe(true);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, 'interrupted: 130, like a shell').toBe(130);

    const up = await runInfra(['up', '-f', stackFile, '--json'], env);
    expect(up.code, `${up.stderr}\n${up.stdout}`).toBe(0);
    expect((await runInfra(['stack', 'ls', '-f', stackFile], env)).stdout).toMatch(/local:extra\s+ok/);
    expect(runningProcess(clusterLayout('extra', env), 'kube-apiserver')).toBeDefined();

    await writeFile(stackFile, original);
    const shrink = await runInfra(['up', '-f', stackFile], env);
    expect(shrink.stdout).toMatch(/1 delete/);
    expect(leftovers('extra')).toEqual([]);
  });

  it('destroys clusters, processes and data, and the state says so', async () => {
    const r = await runInfra(['destroy', '-f', stackFile], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/destroy of stack "local": 2 delete/);
    expect((await runInfra(['stack', 'ls', '-f', stackFile], env)).stdout).toMatch(/has no resources/);
    for (const c of ['core', 'edge']) {
      expect(leftovers(c)).toEqual([]);
      expect(existsSync(clusterLayout(c, env).dir)).toBe(false);
    }
  });

  it('runs nothing for an invalid stack and lists every error with its line', async () => {
    const bad = join(home, 'bad.yaml');
    await writeFile(bad, original.replace('nodes: 2', 'nodes: many').replace('kind: local', 'kind: cloud'));
    const r = await runInfra(['up', '-f', bad], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sites\[0\]\.kind: expected one of local, kvm, ssh, got "cloud" \(.*bad\.yaml:\d+\)/);
    expect(r.stderr).toMatch(/clusters\[0\]\.nodes: expected a whole number >= 0, got "many" \(.*bad\.yaml:\d+\)/);
    expect((await runInfra(['local', 'list', '--json'], env)).stdout.trim()).toBe('[]');
  });
});
