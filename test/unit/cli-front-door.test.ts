import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextNameFor, renderKubeconfig } from '../../clusters/local/kubeconfig-file.ts';
import { ensurePki, readPki } from '../../clusters/local/pki.ts';
import { freePorts } from '../../clusters/local/ports.ts';
import { CLI_TEST_TIMEOUT_MS, INFRA_BIN, runInfra } from '../harness/cli.ts';
import { GitFixture } from '../harness/git-fixture.ts';

/** These tests start the real CLI as processes (Node, then TypeScript loading): on a loaded 2-core machine that alone can take several seconds. */

/**
 * The CLI as a user meets it, no cluster needed: any Node starts it, bad flags exit 2 naming
 * the flag, Ctrl-C exits 130, `diff` that cannot reach a cluster exits > 1.
 */

const SYSTEM_NODE = '/usr/bin/node';

let dir: string;
let repo: GitFixture;
let stackFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-front-door-'));
  repo = await GitFixture.create();
  await repo.commit({ 'web/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: "1"\n' });
  // A cluster whose apiserver is not there: a valid TLS kubeconfig pointing at a closed port.
  await ensurePki(join(dir, 'pki'));
  const [port] = await freePorts(1);
  const kubeconfig = join(dir, 'gone.kubeconfig');
  await writeFile(
    kubeconfig,
    renderKubeconfig({
      contextName: contextNameFor('gone'),
      server: `https://127.0.0.1:${port}`,
      user: 'admin',
      ca: { data: await readPki(join(dir, 'pki'), 'ca.crt') },
      clientCert: { data: await readPki(join(dir, 'pki'), 'admin.crt') },
      clientKey: { data: await readPki(join(dir, 'pki'), 'admin.key') },
    }),
  );
  await chmod(kubeconfig, 0o600);
  stackFile = join(dir, 'stack.yaml');
  await writeFile(
    stackFile,
    `apiVersion: infra.dev/v1alpha1\nkind: Stack\nmetadata: {name: front}\nclusters:\n  - {name: gone, kubeconfig: ${kubeconfig}}\ngitops:\n  sources: [{name: repo, url: ${repo.dir}, ref: {branch: main}}]\n  apps: [{name: web, source: repo, path: web, namespace: default, targets: {clusters: [gone]}}]\n`,
  );
}, CLI_TEST_TIMEOUT_MS);
afterAll(async () => {
  await repo.remove();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ ...process.env, INFRA_HOME: join(dir, 'home'), INFRA_CACHE_DIR: join(dir, 'cache') });

describe('the infra command', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it.runIf(existsSync(SYSTEM_NODE))('runs with the system Node 20 by handing over to the Node 24 npm brought, with no heap cap', () => {
    expect(spawnSync(SYSTEM_NODE, ['--version']).stdout.toString()).toMatch(/^v20\./);
    const r = spawnSync(SYSTEM_NODE, [INFRA_BIN, 'schema'], { env: env() });
    expect(r.stderr.toString()).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(JSON.parse(r.stdout.toString()).title ?? JSON.parse(r.stdout.toString()).$schema).toBeDefined();
    const usage = spawnSync(SYSTEM_NODE, [INFRA_BIN, 'reconcile', '--retry-for', 'soon'], { env: env() });
    expect(usage.status).toBe(2);
  });

  it('has no V8 heap flag in its launcher', async () => {
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(INFRA_BIN, 'utf8')).not.toMatch(/max-old-space-size/);
  });

  it('rejects a garbage duration with exit 2, naming the flag, before doing anything', async () => {
    const r = await runInfra(['reconcile', '-f', stackFile, '--retry-for', '2 minutes'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--retry-for <duration>.*'2 minutes' is invalid\. expected a duration like 90s, 2m, 1h or a number of seconds/);
  });

  it.each([
    ['Node 24', process.execPath],
    ...(existsSync(SYSTEM_NODE) ? [['the system Node 20 (signal passed on by the launcher)', SYSTEM_NODE]] : []),
  ])('ends with exit 130 on Ctrl-C (SIGINT) while it retries an unreachable cluster, under %s', async (_label, node) => {
    const child = spawn(node, [INFRA_BIN, 'reconcile', '-f', stackFile, '--retry-for', '10m'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const retrying = new Promise<void>((resolve) =>
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (stderr.includes('retrying in')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await Promise.race([retrying, exited]);
    expect(stderr).toContain('retrying in');
    const sentAt = Date.now();
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    expect(stderr).toContain('interrupted');
    expect(stderr).not.toContain('a bug in infra');
  }, 60_000);

  it('`infra diff` exits 2 (could not diff) when a cluster cannot be reached', async () => {
    const r = await runInfra(['diff', '-f', stackFile], env());
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toContain('web on gone: cannot plan: ClusterUnreachable');
  });
});
