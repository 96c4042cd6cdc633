import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../clusters/wait.ts';
import { parseStack } from '../../stacks/load.ts';
import { INFRA_BIN, runInfra } from '../harness/cli.ts';

/** `infra init` in a real terminal (tmux), with flags only, and refusing what it must refuse. */

let dir: string;
const session = `infra-init-${process.pid}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-init-'));
  if (spawnSync('tmux', ['-V']).status !== 0) throw new Error('tmux is required for the wizard test: apt-get install tmux (.ci/run does)');
});
afterAll(async () => {
  spawnSync('tmux', ['kill-session', '-t', session]);
  await rm(dir, { recursive: true, force: true });
});

const screen = () => spawnSync('tmux', ['capture-pane', '-t', session, '-p']).stdout.toString();
const keys = (...k: string[]) => spawnSync('tmux', ['send-keys', '-t', session, ...k]);
async function until(text: string | RegExp): Promise<void> {
  const seen = await waitFor(async () => (typeof text === 'string' ? screen().includes(text) : text.test(screen())) || undefined, { timeoutMs: 20_000, intervalMs: 50 });
  if (!seen) throw new Error(`the wizard never showed ${text}; screen:\n${screen()}`);
}

describe('infra init', () => {
  it('asks what flags left open, shows each default with its rule, and follows an override', async () => {
    const file = join(dir, 'fleet.yaml');
    const path = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
    const cmd = `cd ${dir} && PATH='${path}' '${INFRA_BIN}' init -f fleet.yaml --site ssh --hosts 192.0.2.1,192.0.2.2,192.0.2.3; sleep 60`;
    expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '120', '-y', '40', cmd]).status).toBe(0);
    await until('? Stack name');
    keys('fleet', 'Enter');
    await until('edge site');
    keys('Enter'); // not an edge site
    await until('unreliable');
    keys('Enter');
    await until('Memory per node');
    keys('Enter');
    await until('ARM nodes');
    keys('Enter');
    await until('Cluster names');
    keys('Enter'); // core
    await until('? GitOps repository');
    keys('Enter'); // none
    await until('distribution: kubernetes — a core site with capable nodes → Kubernetes');
    keys('Down', 'Enter'); // override: k3s
    await until('datastore: sqlite — K3s with a single server → SQLite');
    keys('Enter');
    await until('cni: flannel');
    keys('Enter');
    await until('csi: local-path');
    keys('Enter');
    await until(`wrote fleet.yaml`);

    const stack = parseStack(file, await readFile(file, 'utf8'));
    expect(stack.name).toBe('fleet');
    expect(stack.clusters[0]).toMatchObject({ name: 'core', distribution: 'k3s', datastore: 'sqlite', hosts: ['host-1', 'host-2', 'host-3'] });
    expect(screen()).not.toMatch(/Where do the clusters run|Host addresses|Branch to follow/);
    expect(stack.gitops.sources).toEqual([]);
  });

  it('asks for the GitOps repository and the webhook provider, writes the source and a 0600 secret, prints the webhook setup', async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    const file = join(dir, 'gitops.yaml');
    const path = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
    const cmd = `cd ${dir} && PATH='${path}' '${INFRA_BIN}' init -f gitops.yaml --site local --clusters a,b --nodes 1; sleep 60`;
    expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '50', cmd]).status).toBe(0);
    await until('? Stack name');
    keys('g', 'Enter');
    await until('? GitOps repository');
    keys('git@github.com:acme/fleet.git', 'Enter');
    await until('? Branch to follow');
    keys('prod', 'Enter');
    await until('? Folder of the manifests');
    keys('deploy/prod', 'Enter');
    await until('? How does a push reach infra?');
    keys('Down', 'Enter'); // GitLab
    await until('? infra serve as the Git server reaches it');
    keys('ftp://x', 'Enter');
    await until('use http:// or https://');
    keys(...Array<string>(7).fill('BSpace'), 'https://infra.example.com:8443', 'Enter');
    for (const field of ['distribution', 'datastore', 'cni', 'csi']) {
      await until(`? ${field}:`);
      keys('Enter');
    }
    await until('next: infra preview');

    const written = await readFile(file, 'utf8');
    // Written relative to the stack file (the stack moves with its secret), read back resolved against it.
    expect(written).toContain('secretFile: webhook-fleet.secret');
    const stack = parseStack(file, written);
    expect(stack.gitops.sources).toEqual([{ name: 'fleet', url: 'git@github.com:acme/fleet.git', ref: { branch: 'prod' }, webhook: { secretFile: join(dir, 'webhook-fleet.secret') } }]);
    expect(stack.gitops.apps.map((a) => [a.name, a.path, a.targets.clusters])).toEqual([['fleet', 'deploy/prod', ['a', 'b']]]);
    const secretFile = join(dir, 'webhook-fleet.secret');
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const secret = (await readFile(secretFile, 'utf8')).trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const text = screen();
    expect(text).toContain('URL:          https://infra.example.com:8443/webhooks/gitlab/fleet');
    expect(text).toContain('Secret token: the content of webhook-fleet.secret');
    expect(text).toContain('Trigger:      Push events (all branches, or the branch prod)');
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/Deploy the example apps/);
  });

  it('with --yes and --webhook generic, prints an infra hook install line that installs the hook', async () => {
    const bare = join(dir, "fleet it's.git");
    expect(spawnSync('git', ['init', '-q', '--bare', bare]).status).toBe(0);
    const file = join(dir, 'generic.yaml');
    const r = await runInfra(['init', '--yes', '-f', file, '--clusters', 'a', '--repo', bare, '--branch', 'main', '--path', 'apps', '--webhook', 'generic', '--serve-url', 'http://127.0.0.1:7979/'], process.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('webhook URL: http://127.0.0.1:7979/webhooks/generic/fleet-it-s');
    const line = r.stdout.split('\n').find((l) => l.trim().startsWith('infra hook install '));
    expect(line).toBeDefined();
    const text = await readFile(file, 'utf8');
    expect(text).toContain('secretFile: webhook-fleet-it-s.secret');
    const stack = parseStack(file, text);
    expect(stack.gitops.sources[0]).toMatchObject({ name: 'fleet-it-s', url: bare, webhook: { secretFile: join(dir, 'webhook-fleet-it-s.secret') } });
    // The printed line runs as it is (infra = this checkout's CLI) and installs a hook naming the generated secret file.
    const ran = spawnSync('sh', ['-c', `infra() { '${process.execPath}' '${INFRA_BIN}' "$@"; }; ${line}`], { encoding: 'utf8' });
    expect(ran.status, ran.stderr).toBe(0);
    const hook = await readFile(join(bare, 'hooks', 'post-receive'), 'utf8');
    expect(hook).toContain(`--source 'fleet-it-s' --secret-file '${join(dir, 'webhook-fleet-it-s.secret')}'`);
    const json = await runInfra(['init', '--yes', '--json', '-f', join(dir, 'json.yaml'), '--repo', 'https://github.com/acme/Fleet.git', '--webhook', 'github'], process.env);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).webhook).toMatchObject({ provider: 'github', url: 'http://127.0.0.1:7979/webhooks/github/fleet', secretFile: join(dir, 'webhook-fleet.secret'), steps: expect.arrayContaining(['  Which events: Just the push event']) });
    const bad = await runInfra(['init', '--yes', '-f', join(dir, 'bad.yaml'), '--webhook', 'github'], process.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--branch, --path, --webhook and --serve-url go with --repo');
  });

  it('Ctrl-C at a prompt exits 130 and writes nothing', async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    const file = join(dir, 'never.yaml');
    const path = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
    const cmd = `cd ${dir} && PATH='${path}' '${INFRA_BIN}' init -f never.yaml; echo "exit=$?"; sleep 60`;
    expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '120', '-y', '40', cmd]).status).toBe(0);
    await until('? Stack name');
    keys('C-c');
    await until(/exit=\d+/);
    expect(screen()).toContain('exit=130');
    expect(screen()).not.toContain('a bug in infra');
    expect(existsSync(file)).toBe(false);
  });

  it('with --yes writes a stack that infra preview accepts', async () => {
    const file = join(dir, 'local.yaml');
    const r = await runInfra(['init', '--yes', '-f', file, '--clusters', 'a,b', '--nodes', '1'], process.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('clusters[0].distribution = local  (a local site runs clusters as processes on this machine)');
    const preview = await runInfra(['preview', '-f', file, '--json'], { ...process.env, INFRA_HOME: join(dir, 'home') });
    expect(preview.code, preview.stderr).toBe(0);
    expect(JSON.parse(preview.stdout).steps.map((s: { op: string; name: string }) => `${s.op} ${s.name}`)).toEqual(['create local:a', 'create local:b']);
  });

  it('refuses to overwrite, and needs a terminal unless --yes', async () => {
    const file = join(dir, 'exists.yaml');
    await writeFile(file, 'mine');
    const again = await runInfra(['init', '--yes', '-f', file], process.env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists\.yaml exists — pass --force/);
    const noTty = await runInfra(['init', '-f', join(dir, 'new.yaml')], process.env);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/needs a terminal .* — pass --yes/);
    expect(await readFile(file, 'utf8')).toBe('mine');
  });
});
