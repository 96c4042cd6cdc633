import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { cacheBinDir } from '../../clusters/tools/resolver.ts';
import { seedFiles } from '../../modules/kvm/seed.ts';
import { macFor } from '../../modules/kvm/xml.ts';
import { runInfra } from '../harness/cli.ts';
import { startKvm, stopKvm, virsh, type KvmRun } from '../harness/kvm-harness.ts';
import { ensureKvmImage, type KvmImage } from '../harness/kvm-image.ts';
import { kvmStack, writeKvmStack, type KvmStackFixture } from '../harness/kvm-stack.ts';

/**
 * `infra up` of a kvm site with two VMs on a real libvirtd + QEMU (the harness's private daemons,
 * software emulation here): boot, cloud-init over SSH, idempotence, a memory resize, destroy,
 * and the bad inputs that must fail in one line without touching what infra does not own.
 */
let kvm: KvmRun;
let image: KvmImage;
let fx: KvmStackFixture;
/** The image of the last test that changed it (another image replaces the VMs). */
let otherImage: KvmImage;
const VMS = ['vm-a', 'vm-b'];

const addressOf = (i: number) => `${kvm.vmSubnetPrefix}.${10 + i}`;

async function ssh(i: number, command: string): Promise<string> {
  const r = await runCommand('ssh', ['-F', 'none', '-i', fx.keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `ops@${addressOf(i)}`, command]);
  if (r.code !== 0) throw new Error(`ssh ${addressOf(i)} ${command}: exit ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

const errorLines = (text: string) => text.split('\n').filter((l) => l.startsWith('error: ') && !l.includes('Command failed with exit code'));

beforeAll(async () => {
  image = await ensureKvmImage();
  kvm = await startKvm();
  fx = await kvmStack(kvm, image, VMS.map((name) => ({ name })), { user: 'ops' });
}, 900_000);

afterAll(async () => {
  if (kvm) await stopKvm(kvm);
});

describe('kvm site: two VMs through libvirt', () => {
  it('infra up boots both; cloud-init set hostname, user and key (over SSH); the seed is what the stack says', async () => {
    const started = Date.now();
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    process.stderr.write(`[kvm] up of ${VMS.length} VMs to SSH-ready: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const pub = (await readFile(`${fx.keyPath}.pub`, 'utf8')).trim();
    for (const [i, name] of VMS.entries()) {
      expect(await ssh(i, 'hostname')).toBe(name);
      expect(await ssh(i, 'id -un')).toBe('ops');
      expect(await ssh(i, 'cat ~/.ssh/authorized_keys')).toContain(pub);
      expect(await ssh(i, 'sudo -n id -u')).toBe('0');
    }
    // The seed ISO in the pool, read back through libvirt.
    const vols = await virsh(kvm, ['vol-list', '--pool', 'infra-lab']);
    const seedVol = /\s(vm-a-seed-[0-9a-f]{12}\.iso)\s/.exec(` ${vols} `)?.[1];
    expect(seedVol, vols).toBeDefined();
    const dir = await mkdtemp(join(tmpdir(), 'infra-kvm-seed-'));
    await virsh(kvm, ['vol-download', '--pool', 'infra-lab', seedVol!, join(dir, 'seed.iso')]);
    const expected = seedFiles({ hostname: 'vm-a', user: 'ops', sshPublicKey: pub, mac: macFor('lab/vm-a'), network: { mode: 'dhcp' } });
    for (const file of ['user-data', 'meta-data', 'network-config'] as const) {
      const x = await runCommand('xorriso', ['-osirrox', 'on', '-indev', join(dir, 'seed.iso'), '-extract', `/${file}`, join(dir, file)]);
      expect(x.code, x.stderr).toBe(0);
      expect(await readFile(join(dir, file), 'utf8')).toBe(expected[file]);
    }
  }, 1_800_000);

  it('a second up changes nothing', async () => {
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(up.stdout).not.toMatch(/\b(create|update|replace|delete)\b/);
  }, 600_000);

  it('more memory shows update in preview and takes effect (the VM restarts, keeps its disk)', async () => {
    await ssh(0, 'echo kept > ~/marker');
    await writeKvmStack(fx.stackFile, kvm, image, [{ name: 'vm-a', memoryGiB: 2 }, { name: 'vm-b' }], { user: 'ops', pool: fx.pool, stack: 'vms' });
    const preview = await runInfra(['preview', '-f', fx.stackFile], fx.env);
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
    // `~` is an update: the domain only, and it says it restarts; no replace (`+-`) of anything, the host's key stays pinned.
    expect(preview.stdout.trim().split('\n').slice(1)).toEqual(['  ~ KvmDomain kvm-vm:vm-a  update: memory 1024 → 2048 MiB; restart: a clean shutdown, then start (the disk is kept)']);
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    const memKiB = Number(/MemTotal:\s+(\d+)/.exec(await ssh(0, 'cat /proc/meminfo'))?.[1]);
    expect(memKiB).toBeGreaterThan(1.5 * 1024 * 1024);
    expect(await ssh(0, 'cat ~/marker')).toBe('kept');
    // The restart was a clean shutdown (the guest powered itself off), not a pulled plug: the console log keeps both boots.
    const consoleLog = await readFile(join(fx.pool, 'vm-a.console.log'), 'utf8');
    const boots = consoleLog.split(/Linux version \d/);
    expect(boots.length, 'two boots in the console log').toBeGreaterThanOrEqual(3);
    expect(boots.at(-2)).toMatch(/reboot: Power down/);
    expect(await virsh(kvm, ['dominfo', 'vm-a'])).toMatch(/Max memory:\s+2097152 KiB/);
  }, 1_200_000);

  it('another image replaces the VMs: new disks from it, the new host keys pinned, the old base volume gone', async () => {
    // The same system in another file (a different qcow2 layout): another image as far as its content address goes.
    const other = join(fx.dir, 'disk-other.qcow2');
    const c = await runCommand('qemu-img', ['convert', '-O', 'qcow2', '-o', 'cluster_size=131072', image.disk, other]);
    expect(c.code, c.stderr).toBe(0);
    otherImage = { ...image, disk: other };
    await writeKvmStack(fx.stackFile, kvm, otherImage, [{ name: 'vm-a', memoryGiB: 2 }, { name: 'vm-b' }], { user: 'ops', pool: fx.pool, stack: 'vms' });
    const preview = await runInfra(['preview', '-f', fx.stackFile], fx.env);
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
    for (const line of ['KvmBaseVolume kvm-image:lab', 'KvmDisk kvm-disk:vm-a', 'KvmDomain kvm-vm:vm-a', 'Host host:vm-a', 'KvmDisk kvm-disk:vm-b', 'KvmDomain kvm-vm:vm-b', 'Host host:vm-b']) {
      expect(preview.stdout.split('\n').some((l) => l.startsWith(`  +- ${line}`)), `${line} replaced in:\n${preview.stdout}`).toBe(true);
    }
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    // A new disk: the file written on the old one is not there; cloud-init set the VM up again.
    expect(await ssh(0, 'test -e ~/marker && echo kept || echo new')).toBe('new');
    expect(await ssh(1, 'hostname')).toBe('vm-b');
    const sha = (await runCommand('sha256sum', [other])).stdout.slice(0, 12);
    const bases = (await virsh(kvm, ['vol-list', '--pool', 'infra-lab'])).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((v) => v.startsWith('lab-base-'));
    expect(bases).toEqual([`lab-base-${sha}`]);
    // And the next up finds everything as it is (the new keys pinned, not refused).
    const again = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).not.toMatch(/\b(create|update|replace|delete)\b/);
  }, 1_800_000);

  it('a binaries cluster on the VMs: vm-a the control plane, vm-b a node that turns Ready and runs a Pod under runc', async () => {
    const cluster = { name: 'vmc', controlPlanes: 1, cni: 'bridge', csi: 'none' };
    await writeKvmStack(fx.stackFile, kvm, otherImage, [{ name: 'vm-a', memoryGiB: 2 }, { name: 'vm-b' }], { user: 'ops', pool: fx.pool, stack: 'vms', cluster });
    const started = Date.now();
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    process.stderr.write(`[kvm] binaries cluster on 2 VMs (software emulation) up to a Ready node: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    // Only the cluster was added: the VMs and their hosts are as they were.
    expect(up.stdout).not.toMatch(/\b(update|replace|delete)\b/);
    const kubectl = async (...args: string[]) => {
      const r = await runCommand(join(cacheBinDir(), 'kubectl-v1.34.4', 'kubectl'), [`--kubeconfig=${clusterLayout('vmc', fx.env).kubeconfig}`, ...args]);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const nodes = await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}');
    expect(nodes.trim().split('\n')).toEqual(['vm-b=True']);
    // The VMs have no registry: the pause image infra imported into the node's containerd.
    await kubectl('run', 'sleeper', '--image=infra.local/pause:1', '--image-pull-policy=Never', '--restart=Never');
    try {
      await kubectl('wait', 'pod/sleeper', '--for=jsonpath={.status.phase}=Running', '--timeout=300s');
    } catch (err) {
      const pod = await kubectl('describe', 'pod', 'sleeper').catch((e: Error) => e.message);
      const journal = await ssh(1, 'sudo journalctl -u kubelet -u containerd --no-pager -n 25 | cut -c1-300').catch((e: Error) => e.message);
      throw new Error(`${(err as Error).message}\n${pod.split('\n').slice(-20).join('\n')}\n${journal}`);
    }
    // A real process in vm-b, under runc.
    expect(Number(await ssh(1, 'pgrep -c -x pause || true'))).toBeGreaterThanOrEqual(2);
  }, 1_800_000);

  it('bad input fails in one line: unreachable URI, missing pool directory, a domain infra does not own (left untouched), not enough memory', async () => {
    let n = 0;
    const bad = async (stack: string, o: { uri?: string; pool?: string; vm?: string; memoryGiB?: number }) => {
      n++;
      const file = join(fx.dir, `${stack}.yaml`);
      await writeKvmStack(file, kvm, image, [{ name: o.vm ?? `${stack}-vm`, ...(o.memoryGiB ? { memoryGiB: o.memoryGiB } : {}) }], { user: 'ops', pool: o.pool ?? fx.pool, stack, site: stack, subnet: `10.${215 + n}.${kvm.slot}.0/24`, ...(o.uri ? { uri: o.uri } : {}) });
      const env = { ...fx.env, INFRA_HOME: join(fx.dir, `home-${stack}`) };
      const r = await runInfra(['up', '-f', file, '--skip-apps'], env);
      expect(r.code, `${r.stdout}\n${r.stderr}`).not.toBe(0);
      return { lines: errorLines(r.stderr + r.stdout), file, env };
    };
    const unreachable = await bad('nouri', { uri: 'qemu:///system?socket=/nonexistent/libvirt-sock' });
    expect(unreachable.lines.join('\n')).toMatch(/^error: pool infra-nouri on qemu:\/\/\/system\?socket=\/nonexistent\/libvirt-sock: virsh pool-define failed: .*Failed to connect socket/m);
    const nopool = await bad('nopool', { pool: join(fx.dir, 'no-such-dir') });
    expect(nopool.lines.join('\n')).toMatch(/^error: pool infra-nopool on .*: the pool directory .*no-such-dir does not exist/m);
    // A domain someone else defined, with the name the stack wants.
    await writeFile(join(fx.dir, 'foreign.xml'), "<domain type='qemu'><name>foreign</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>");
    await virsh(kvm, ['define', join(fx.dir, 'foreign.xml')]);
    const before = await virsh(kvm, ['dumpxml', 'foreign']);
    await mkdir(join(fx.pool, '..', 'clash'), { recursive: true });
    const clash = await bad('clash', { vm: 'foreign', pool: join(fx.pool, '..', 'clash') });
    expect(clash.lines.join('\n')).toMatch(/^error: domain foreign on .*: a domain named foreign exists and was not made by infra; it is left untouched/m);
    expect(await virsh(kvm, ['dumpxml', 'foreign'])).toBe(before);
    // 4 TiB: refused before the domain is defined, naming the VM and what the host has.
    await mkdir(join(fx.pool, '..', 'bigmem'), { recursive: true });
    const bigmem = await bad('bigmem', { memoryGiB: 4096, pool: join(fx.pool, '..', 'bigmem') });
    expect(bigmem.lines.join('\n')).toMatch(/^error: domain bigmem-vm on .*: not enough memory on the libvirt host: 4194304 MiB more needed, \d+ MiB available \(of \d+ MiB\)/m);
    expect(bigmem.lines.join('\n')).toMatch(/give bigmem-vm less memory/);
    expect(await virsh(kvm, ['list', '--all', '--name'])).not.toContain('bigmem-vm');
    // What the failed ups did create is in their state, and destroy removes it.
    for (const b of [nopool, clash, bigmem]) {
      const d = await runInfra(['destroy', '-f', b.file], b.env);
      expect(d.code, `${d.stdout}\n${d.stderr}`).toBe(0);
    }
    expect(await virsh(kvm, ['list', '--all', '--name'])).toContain('foreign');
  }, 600_000);

  it('infra destroy leaves no domain, volume or network of the stack', async () => {
    const d = await runInfra(['destroy', '-f', fx.stackFile], fx.env);
    expect(d.code, `${d.stdout}\n${d.stderr}`).toBe(0);
    const domains = (await virsh(kvm, ['list', '--all', '--name'])).split('\n').map((l) => l.trim()).filter(Boolean);
    expect(domains).toEqual(['foreign']);
    expect((await virsh(kvm, ['net-list', '--all', '--name'])).trim()).toBe('');
    expect((await virsh(kvm, ['pool-list', '--all', '--name'])).trim()).toBe('');
    expect((await runCommand('ls', [fx.pool])).stdout.split('\n').filter((f) => f && !f.endsWith('.console.log'))).toEqual([]);
  }, 600_000);
});
