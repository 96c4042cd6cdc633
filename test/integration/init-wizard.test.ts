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
/** Everything the terminal showed, scrolled off or not. */
const history = () => spawnSync('tmux', ['capture-pane', '-t', session, '-p', '-S', '-']).stdout.toString();
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
    for (const question of ['? Will untrusted workloads run', '? Are L7 network policies needed', '? Is shared storage wanted', '? Add another site']) {
      await until(question);
      keys('Enter'); // no
    }
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

  it('asks what decides the add-ons, adds an edge site, shows the YAML with each decision and its rule, and offers infra preview', async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    const file = join(dir, 'mixed.yaml');
    const path = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
    const cmd = `cd ${dir} && PATH='${path}' '${INFRA_BIN}' init -f mixed.yaml --site ssh --hosts 192.0.2.1,192.0.2.2,192.0.2.3; echo "exit=$?"; sleep 60`;
    expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '220', '-y', '50', cmd]).status).toBe(0);
    const answer = async (question: string, ...k: string[]) => {
      await until(question);
      keys(...k, 'Enter');
    };
    await answer('? Stack name', 'mixed');
    await answer('? Is it an edge site'); // no
    await answer('? Is the network to it unreliable');
    await answer('? Memory per node'); // 8
    await answer('? ARM nodes');
    await answer('? Cluster names'); // core
    await answer('? Will untrusted workloads run', 'y');
    await answer('? Do they need VM-grade isolation'); // no: gVisor
    await answer('? Are L7 network policies needed', 'y');
    await answer('? Is shared storage wanted', 'y');
    await answer('? Spare disks on every host', '/dev/vdb');
    await answer('? Add another site', 'y');
    await answer('? Where does this site run?'); // ssh
    await answer('? Is it an edge site'); // yes (the default for a second site)
    await answer('? Is the network to it unreliable');
    await answer('? Host addresses', '198.51.100.7');
    await answer('? Memory per node');
    await answer('? ARM nodes');
    await answer('? Cluster names'); // edge
    await answer('? Will untrusted workloads run');
    await answer('? Are L7 network policies needed');
    await answer('? Is shared storage wanted');
    await answer('? Add one more site');
    await answer('? GitOps repository');
    await answer('? distribution: kubernetes — a core site with capable nodes → Kubernetes [site 1: core]');
    await answer('? datastore: embedded-etcd');
    await answer('? cni: cilium — strict security needs (L7 policies) → Cilium (eBPF) [site 1: core]');
    await answer('? csi: rook-ceph — shared storage with 3 hosts with spare disks → Rook-Ceph');
    await answer('? distribution: k3s — edge site → K3s (single binary, control plane under ~250 MB) [edge site: edge]');
    await answer('? datastore: sqlite — K3s with a single server → SQLite [edge site: edge]');
    await answer('? cni: flannel — fewer than 500 nodes → Flannel (VXLAN), the simple default [edge site: edge]');
    await answer('? csi: local-path — single node, edge, or no spare disks → local persistent volumes (node-bound) [edge site: edge]');
    await answer('? Run infra preview now?'); // default No
    await until(/exit=\d+/);

    const written = await readFile(file, 'utf8');
    const stack = parseStack(file, written);
    expect(stack.sites.map((s) => [s.name, s.kind, s.edge])).toEqual([['site', 'ssh', false], ['edge', 'ssh', true]]);
    expect(stack.hosts.map((h) => [h.site, h.address, h.disks])).toEqual([
      ['site', '192.0.2.1', ['/dev/vdb']],
      ['site', '192.0.2.2', ['/dev/vdb']],
      ['site', '192.0.2.3', ['/dev/vdb']],
      ['edge', '198.51.100.7', []],
    ]);
    expect(stack.clusters.map((c) => [c.name, c.site, c.distribution, c.datastore, c.cni, c.csi, c.runtimes])).toEqual([
      ['core', 'site', 'kubernetes', 'embedded-etcd', 'cilium', 'rook-ceph', ['gvisor']],
      ['edge', 'edge', 'k3s', 'sqlite', 'flannel', 'local-path', []],
    ]);
    const shown = history();
    // The YAML as written, line by line, under its heading; then each decision with its rule.
    const shownLines = shown.split('\n').map((l) => l.trimEnd());
    const at = shownLines.indexOf('--- mixed.yaml ---');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(shownLines.slice(at + 1, at + 1 + written.trimEnd().split('\n').length)).toEqual(written.trimEnd().split('\n').map((l) => l.trimEnd()));
    expect(shown).toContain('clusters[0].runtimes = gvisor  (untrusted workloads → gVisor (runsc: the kernel in user space))');
    expect(shown).toContain('clusters[0].security = strict  (L7 network policies (HTTP paths, methods) → strict security, which Cilium enforces)');
    expect(shown).toContain('clusters[1].runtimes = runc  (no untrusted workloads → containerd with runc only)');
    expect(shown).toMatch(/Run infra preview now\? No/);
    expect(screen()).toContain('exit=0');
    expect(shown).not.toMatch(/stack "mixed"|infra preview exited/); // the preview did not run
  });

  it('a mixed estate whose edge site answers yes: the same answers as flags, or as pre-answers, write byte-identical files', async () => {
    const path = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
    const first = ['--name', 'estate', '--site', 'ssh', '--hosts', '192.0.2.1,192.0.2.2,192.0.2.3', '--clusters', 'core'];
    const edge = ['--edge-hosts', '198.51.100.7,198.51.100.8', '--edge-clusters', 'shop'];
    const answer = async (question: string | RegExp, ...k: string[]) => {
      await until(question);
      keys(...k, 'Enter');
    };
    /** The defaults of both sites kept, then no preview. */
    const keepDefaults = async () => {
      for (const label of ['site 1: core', 'edge site: shop']) {
        for (const field of ['distribution', 'datastore', 'cni', 'csi']) await answer(new RegExp(`\\? ${field}: .*\\[${label}\\]`));
      }
      await answer('? Run infra preview now?');
      await until(/exit=\d+/);
      expect(screen()).toContain('exit=0');
    };
    const wizard = (file: string, flags: readonly string[]) => {
      spawnSync('tmux', ['kill-session', '-t', session]);
      const cmd = `cd ${dir} && PATH='${path}' '${INFRA_BIN}' init -f ${file} ${flags.join(' ')}; echo "exit=$?"; sleep 60`;
      expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '220', '-y', '50', cmd]).status).toBe(0);
    };

    // Every answer at a prompt (the first site's hosts from flags).
    wizard('estate-asked.yaml', first);
    await answer('? Is it an edge site'); // no
    await answer('? Is the network to it unreliable');
    await answer('? Memory per node'); // 8
    await answer('? ARM nodes');
    await answer('? Will untrusted workloads run', 'y');
    await answer('? Do they need VM-grade isolation'); // no: gVisor
    await answer('? Are L7 network policies needed');
    await answer('? Is shared storage wanted', 'y');
    await answer('? Spare disks on every host', '/dev/vdb');
    await answer('? Add another site', 'y');
    await answer('? Where does this site run?'); // ssh
    await answer('? Is it an edge site'); // yes
    await answer('? Is the network to it unreliable', 'y');
    await answer('? Host addresses', '198.51.100.7,198.51.100.8');
    await answer('? Memory per node', '4');
    await answer('? ARM nodes', 'y');
    await answer('? Cluster names', 'shop');
    await answer('? Will untrusted workloads run', 'y');
    await answer('? Do they need VM-grade isolation'); // no (Kata on ARM is refused)
    await answer('? Are L7 network policies needed', 'y');
    await answer('? Is shared storage wanted', 'y');
    await answer('? Spare disks on every host', '/dev/sdb');
    await answer('? Add one more site');
    await answer('? GitOps repository');
    await keepDefaults();
    const asked = await readFile(join(dir, 'estate-asked.yaml'), 'utf8');
    const stack = parseStack('estate-asked.yaml', asked);
    expect(stack.sites.map((x) => [x.name, x.edge, x.network])).toEqual([['site', false, 'reliable'], ['edge', true, 'unreliable']]);
    expect(stack.hosts.map((h) => [h.site, h.memoryGiB, h.arch, h.disks])).toEqual([
      ...Array(3).fill(['site', 8, 'amd64', ['/dev/vdb']]),
      ['edge', 4, 'arm64', ['/dev/sdb']],
      ['edge', 4, 'arm64', ['/dev/sdb']],
    ]);
    expect(stack.clusters.map((c) => [c.name, c.distribution, c.cni, c.csi, c.runtimes])).toEqual([
      ['core', 'kubernetes', 'flannel', 'rook-ceph', ['gvisor']],
      ['shop', 'k3s', 'cilium', 'local-path', ['gvisor']],
    ]);

    // The same answers as flags: the same bytes.
    const answers = ['--memory', '8', '--untrusted', '--shared-storage', '--disks', '/dev/vdb'];
    const edgeAnswers = ['--edge-unreliable-network', '--edge-memory', '4', '--edge-arm', '--edge-untrusted', '--edge-l7-policies', '--edge-shared-storage', '--edge-disks', '/dev/sdb'];
    const r = await runInfra(['init', '--yes', '-f', join(dir, 'estate-flags.yaml'), ...first, ...answers, ...edge, ...edgeAnswers], process.env);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(dir, 'estate-flags.yaml'), 'utf8')).toBe(asked);

    // And as pre-answers: the wizard asks only what they left open.
    wizard('estate-pre.yaml', [...first, ...answers, ...edge, ...edgeAnswers]);
    await answer('? Is it an edge site');
    await answer('? Is the network to it unreliable');
    await answer('? ARM nodes');
    await answer('? Do they need VM-grade isolation');
    await answer('? Are L7 network policies needed');
    await answer('? Do they need VM-grade isolation'); // the edge site's: the only question it has left
    await answer('? Add one more site');
    await answer('? GitOps repository');
    await keepDefaults();
    expect(await readFile(join(dir, 'estate-pre.yaml'), 'utf8')).toBe(asked);
    expect(history()).not.toMatch(/Will untrusted workloads run|Memory per node|Host addresses|Cluster names|Spare disks|Add another site/);

    const alone = await runInfra(['init', '--yes', '-f', join(dir, 'estate-refused.yaml'), ...first, '--edge-untrusted', '--edge-disks', '/dev/sdb'], process.env);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--edge-untrusted and --edge-disks go with --edge-hosts');
    expect(existsSync(join(dir, 'estate-refused.yaml'))).toBe(false);
  });

  it('answered yes, "Run infra preview now?" previews the stack just written', async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    const path = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
    const cmd = `cd ${dir} && INFRA_HOME='${join(dir, 'home-p')}' PATH='${path}' '${INFRA_BIN}' init -f p.yaml --name p --site local --clusters a --nodes 1 --repo ''; echo "exit=$?"; sleep 60`;
    expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '50', cmd]).status).toBe(0);
    await until('? Deploy the example apps');
    keys('Enter');
    for (const field of ['distribution', 'datastore', 'cni', 'csi']) {
      await until(`? ${field}:`);
      keys('Enter');
    }
    await until('? Run infra preview now?');
    keys('y', 'Enter');
    await until(/exit=\d+/);
    const shown = history();
    expect(shown).toMatch(/stack "p" would change:\n(.*\n)*.*local:a/);
    expect(screen()).toContain('exit=0');
    expect(screen()).not.toContain('infra preview exited');
  });

  it('with --yes, flags answer the add-on questions and add an edge site; they refuse a local site', async () => {
    const file = join(dir, 'flags.yaml');
    const r = await runInfra(
      ['init', '--yes', '-f', file, '--site', 'kvm', '--hosts', '3', '--untrusted', '--vm-isolation', '--l7-policies', '--shared-storage', '--disks', '/dev/vdb,/dev/vdc', '--edge-hosts', '198.51.100.7,198.51.100.8', '--edge-clusters', 'shop-1,shop-2'],
      process.env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('clusters[0].runtimes = kata  (untrusted workloads that need VM-grade isolation → Kata Containers (a lightweight VM per Pod))');
    expect(r.stdout).not.toContain('Run infra preview now');
    const stack = parseStack(file, await readFile(file, 'utf8'));
    expect(stack.clusters.map((c) => [c.name, c.site, c.distribution, c.cni, c.csi, c.runtimes, c.hosts])).toEqual([
      ['core', 'site', 'kubernetes', 'cilium', 'rook-ceph', ['kata'], ['host-1', 'host-2', 'host-3']],
      ['shop-1', 'edge', 'k3s', 'flannel', 'local-path', [], ['host-4']],
      ['shop-2', 'edge', 'k3s', 'flannel', 'local-path', [], ['host-5']],
    ]);
    expect(stack.hosts[0]?.disks).toEqual(['/dev/vdb', '/dev/vdc']);
    const local = await runInfra(['init', '--yes', '-f', join(dir, 'refused.yaml'), '--untrusted'], process.env);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('--untrusted goes with a kvm or ssh site');
    const badDisk = await runInfra(['init', '--yes', '-f', join(dir, 'refused.yaml'), '--site', 'kvm', '--disks', 'vdb'], process.env);
    expect(badDisk.code).toBe(2);
    expect(badDisk.stderr).toContain('--disks: "vdb" is not a device path (e.g. /dev/vdb)');
    expect(existsSync(join(dir, 'refused.yaml'))).toBe(false);
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
