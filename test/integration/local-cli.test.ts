import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFromFile } from '../../clusters/connection.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { BINARY_NAMES, KUBERNETES_VERSION } from '../../clusters/tools/versions.ts';
import { processesMentioning } from '../../clusters/host/process-table.ts';
import { waitFor } from '../../clusters/wait.ts';
import { CoreV1Api } from '@kubernetes/client-node';
import { INFRA_BIN, runInfra, startInfra } from '../harness/cli.ts';

/**
 * `infra local` as a user runs it: a separate process, its JSON output, its exit codes and
 * one-line errors, and no process left behind — even when the CLI itself is SIGKILLed.
 */

let home: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'infra-cli-'));
  env = { ...process.env, INFRA_HOME: home };
});

afterAll(async () => {
  for (const name of ['demo', 'crashy', 'stopped', 'pinned']) await runInfra(['local', 'down', name, '--purge'], env);
  await rm(home, { recursive: true, force: true });
});

function leftovers(name: string): number[] {
  return processesMentioning(`${clusterLayout(name, env).dir}/`, new Set(BINARY_NAMES));
}

describe('infra local', () => {
  it('up --json prints name, server and kubeconfig; the cluster serves; down leaves no process', async () => {
    const up = await runInfra(['local', 'up', 'demo', '--nodes', '3', '--json'], env);
    expect(up.stderr).not.toMatch(/error/);
    expect(up.code).toBe(0);
    const out = JSON.parse(up.stdout) as { name: string; server: string; kubeconfig: string; status: string };
    expect(out.name).toBe('demo');
    expect(out.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(out.status).toBe('running');

    const core = kubeConfigFromFile(out.kubeconfig).makeApiClient(CoreV1Api);
    expect((await core.listNode()).items).toHaveLength(3);

    const again = await runInfra(['local', 'up', 'demo', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).server).toBe(out.server);

    const list = await runInfra(['local', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'demo', status: 'running', nodes: 3 })]);

    const kubeconfig = await runInfra(['local', 'kubeconfig', 'demo', '--path'], env);
    expect(kubeconfig.stdout.trim()).toBe(out.kubeconfig);

    expect(leftovers('demo').length).toBe(5);
    const down = await runInfra(['local', 'down', 'demo', '--json'], env);
    expect(down.code).toBe(0);
    expect(leftovers('demo')).toEqual([]);
    expect(existsSync(out.kubeconfig)).toBe(true);
  });

  it('names an unknown cluster in one line and exits non-zero', async () => {
    const r = await runInfra(['local', 'kubeconfig', 'no-such-cluster'], env);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no local cluster named "no-such-cluster" — run `infra local list`/);
  });

  it('refuses a busy port with the cause and the fix', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runInfra(['local', 'up', 'busy', '--port', String(port)], env);
      expect(r.code).toBe(5);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`port 127.0.0.1:${port} is already in use — choose another --port`);
    } finally {
      server.close();
      await runInfra(['local', 'down', 'busy', '--purge'], env);
    }
  });

  it('reports a corrupt data dir with the fix, and --purge repairs it', async () => {
    const layout = clusterLayout('demo', env);
    await writeFile(layout.stateFile, '{ not json');
    const r = await runInfra(['local', 'up', 'demo'], env);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/corrupt state file: not valid JSON .* — run `infra local down demo --purge`/);
    expect((await runInfra(['local', 'down', 'demo', '--purge'], env)).code).toBe(0);
    expect(existsSync(layout.dir)).toBe(false);
  });

  it('says how to provide a binary when none is cached, downloads are off and go is missing', async () => {
    const emptyCache = await mkdtemp(join(tmpdir(), 'infra-nocache-'));
    try {
      const r = await runInfra(['local', 'up', 'nogo'], { ...env, INFRA_CACHE_DIR: emptyCache, PATH: '/nonexistent', INFRA_OFFLINE: '1' });
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/etcd v[\d.]+ not found: it cannot be downloaded \(INFRA_OFFLINE=1\) and `go` is not installed — .*install Go >= 1\.24/);
    } finally {
      await runInfra(['local', 'down', 'nogo', '--purge'], env);
      await rm(emptyCache, { recursive: true, force: true });
    }
  });

  it('repairs a cluster whose up was SIGKILLed midway, and down then leaves nothing', async () => {
    const layout = clusterLayout('crashy', env);
    const child = startInfra(['local', 'up', 'crashy'], env);
    const apiserverPid = join(layout.runDir, 'kube-apiserver.pid');
    const reached = await waitFor(async () => (existsSync(apiserverPid) ? true : undefined), { timeoutMs: 60_000, intervalMs: 20 });
    expect(reached).toBe(true);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const up = await runInfra(['local', 'up', 'crashy', '--json'], env);
    expect(up.stderr).not.toMatch(/error/);
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout).status).toBe('running');
    expect(leftovers('crashy').length).toBe(5);

    expect((await runInfra(['local', 'down', 'crashy', '--purge'], env)).code).toBe(0);
    expect(leftovers('crashy')).toEqual([]);
  });

  it('ends with exit 130 when Ctrl-C (SIGINT) arrives while a cluster starts, and the next up finishes it', async () => {
    const layout = clusterLayout('stopped', env);
    const child = spawn(process.execPath, [INFRA_BIN, 'local', 'up', 'stopped'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Interrupt while it waits for the apiserver to become ready (a long wait that polls).
    const reached = await waitFor(async () => (existsSync(join(layout.runDir, 'kube-apiserver.pid')) ? true : undefined), { timeoutMs: 60_000, intervalMs: 5 });
    expect(reached).toBe(true);
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toContain('interrupted');
    expect(stderr).not.toContain('a bug in infra');

    const up = await runInfra(['local', 'up', 'stopped', '--json'], env);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).status).toBe('running');
    expect((await runInfra(['local', 'down', 'stopped', '--purge'], env)).code).toBe(0);
  });

  it('refuses a cluster whose recorded versions differ from the pins, and --upgrade moves it onto them', async () => {
    expect((await runInfra(['local', 'up', 'pinned'], env)).code).toBe(0);
    const layout = clusterLayout('pinned', env);
    const state = JSON.parse(await readFile(layout.stateFile, 'utf8'));
    const [major, minor] = KUBERNETES_VERSION.split('.');
    const older = `${major}.${minor}.0`; // an earlier patch of the same minor: an allowed in-place upgrade
    await writeFile(layout.stateFile, JSON.stringify({ ...state, kubernetesVersion: older }));

    const refused = await runInfra(['local', 'up', 'pinned'], env);
    expect(refused.code).toBe(14);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`made with Kubernetes ${older}`);
    expect(refused.stderr).toContain(`now runs Kubernetes ${KUBERNETES_VERSION}`);
    expect(refused.stderr).toContain('run `infra local up pinned --upgrade`');

    const upgraded = await runInfra(['local', 'up', 'pinned', '--upgrade', '--json'], env);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(upgraded.stderr).toContain(`upgrading local cluster "pinned": Kubernetes ${older} → ${KUBERNETES_VERSION}`);
    expect(JSON.parse(upgraded.stdout).status).toBe('running');
    expect(JSON.parse(await readFile(layout.stateFile, 'utf8')).kubernetesVersion).toBe(KUBERNETES_VERSION);
    expect((await runInfra(['local', 'up', 'pinned'], env)).code).toBe(0);
    expect((await runInfra(['local', 'down', 'pinned', '--purge'], env)).code).toBe(0);
  });
});
