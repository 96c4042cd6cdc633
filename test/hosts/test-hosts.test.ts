import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { buildOciArchive } from '../harness/oci-archive.ts';
import { pidsOfSlot } from '../harness/test-hosts-cgroups.ts';
import { purgeStaleSlots } from '../harness/test-hosts-cleanup.ts';
import { slotLayout } from '../harness/test-hosts-layout.ts';
import { ensureRootfs } from '../harness/test-hosts-rootfs.ts';
import type { TestHost } from '../harness/test-hosts.ts';
import { cutLink, execOnHost, hideFromRunner, isHostRunning, killHost, restartHost, restoreLink, showToRunner, startTestHosts, stopTestHosts } from '../harness/test-hosts.ts';

/** ssh with the system OpenSSH client, host key checked against the run's known_hosts, no prompts. */
function ssh(host: TestHost, user: 'root' | 'alice' | 'bob', command: string, knownHosts = host.knownHostsPath) {
  return runCommand('ssh', [
    '-i', host.users[user].keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ConnectTimeout=5',
    `${user}@${host.address}`, command,
  ]);
}

/** True if a TCP connection to address:22 opens within 3 s. */
function reachable(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port: 22, timeout: 3000 });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('timeout', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(false));
  });
}

function slotOf(host: TestHost): number {
  return Number(host.address.split('.')[2]);
}

/** What a slot leaves on the machine: namespaces, uplink, processes, mounts, state directory. */
async function leftovers(slot: number): Promise<string[]> {
  const found: string[] = [];
  const netns = await readdir('/run/netns').catch(() => [] as string[]);
  found.push(...netns.filter((n) => n.startsWith(`infra-th${slot}-`)));
  if (existsSync(`/sys/class/net/ith${slot}`)) found.push(`link ith${slot}`);
  found.push(...(await pidsOfSlot(slot)).map((p) => `pid ${p}`));
  const dir = slotLayout(slot).dir;
  found.push(...readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${dir}/`)));
  if (existsSync(dir)) found.push(dir);
  return found;
}

describe('SSH test hosts', () => {
  let hosts: TestHost[] = [];
  let scratch = '';
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'infra-test-hosts-'));
    hosts = await startTestHosts({ count: 2, prefix: 'node', progress: (l) => process.stderr.write(`[test-hosts] ${l}\n`) });
  });
  afterAll(async () => {
    await stopTestHosts();
    await rm(scratch, { recursive: true, force: true });
  });

  it('boots hosts with their own address and name; each user logs in with its key, the host key checked', async () => {
    expect(hosts.map((h) => h.name)).toEqual(['node-1', 'node-2']);
    expect(new Set(hosts.map((h) => h.address)).size).toBe(2);
    for (const host of hosts) {
      expect(host.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      for (const user of ['root', 'alice', 'bob'] as const) {
        const r = await ssh(host, user, 'echo "$(id -un)@$(hostname)"');
        expect(r.stderr).toBe('');
        expect(r.stdout.trim()).toBe(`${user}@${host.name}`);
      }
    }
  });

  it('refuses a host whose key is not the one in known_hosts', async () => {
    const [one, two] = hosts as [TestHost, TestHost];
    const wrong = join(scratch, 'wrong_known_hosts');
    await writeFile(wrong, `${one.address} ${two.hostPublicKey}\n`);
    const r = await ssh(one, 'root', 'true', wrong);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('gives alice passwordless sudo and bob none', async () => {
    const host = hosts[0]!;
    expect((await ssh(host, 'alice', 'sudo -n id -u')).stdout.trim()).toBe('0');
    const bob = await ssh(host, 'bob', 'sudo -n id -u');
    expect(bob.code).not.toBe(0);
    expect(bob.stderr).toContain('a password is required');
  });

  it('lets hosts reach each other by name, and a cut link makes a host unreachable until restored', async () => {
    const [one, two] = hosts as [TestHost, TestHost];
    const probe = `timeout 3 bash -c '</dev/tcp/${two.name}/22' && echo open`;
    expect((await ssh(one, 'root', probe)).stdout.trim()).toBe('open');
    await cutLink(two);
    expect(await reachable(two.address)).toBe(false);
    expect((await ssh(one, 'root', probe)).stdout.trim()).toBe('');
    expect(await isHostRunning(two)).toBe(true);
    await restoreLink(two);
    expect(await reachable(two.address)).toBe(true);
    expect((await ssh(two, 'root', 'hostname')).stdout.trim()).toBe(two.name);
  });

  it('hides a host from the runner but not from the other hosts: reachable through a jump host', async () => {
    const [one, two] = hosts as [TestHost, TestHost];
    await hideFromRunner(two);
    expect(await reachable(two.address)).toBe(false);
    const key = two.users.root.keyPath;
    const common = ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${two.knownHostsPath}`];
    const jumped = await runCommand('ssh', [...common, '-o', `ProxyCommand=ssh ${common.join(' ')} -W %h:%p root@${one.address}`, `root@${two.address}`, 'hostname']);
    expect(jumped.stdout.trim()).toBe(two.name);
    await showToRunner(two);
    expect(await reachable(two.address)).toBe(true);
  });

  it('kills a host (power loss) and boots it again with the same disk and host key', async () => {
    const two = hosts[1]!;
    await ssh(two, 'root', 'echo kept > /root/marker');
    await killHost(two);
    expect(await isHostRunning(two)).toBe(false);
    expect(await reachable(two.address)).toBe(false);
    // A boot that timed out, or a run that crashed, leaves nspawn's propagate folder of the machine
    // too; the next boot must not trip on it ("Attempted to remove disk file system").
    await mkdir(`/run/systemd/nspawn/propagate/infra-th${slotOf(two)}-h2`, { recursive: true });
    await restartHost(two);
    const r = await ssh(two, 'root', 'cat /root/marker');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('kept');
    // And the harness sees the same disk from outside SSH.
    expect(await execOnHost(two, ['cat', '/root/marker'])).toEqual({ code: 0, stdout: 'kept\n', stderr: '' });
    expect((await execOnHost(two, ['test', '-e', '/root/none'])).code).toBe(1);
    // A new boot is a new mount namespace: the harness set it up again for containerd and kubelet.
    expect((await execOnHost(two, ['cat', '/proc/sys/vm/overcommit_memory'])).stdout).toBe('1\n');
    expect((await execOnHost(two, ['mkdir', '/sys/fs/cgroup/cpu/probe'])).code).toBe(0);
  });

  it('runs a container with containerd and runc inside a host, from a locally built image', async () => {
    const host = hosts[0]!;
    const rootfs = await ensureRootfs();
    const image = await buildOciArchive({
      name: 'example.invalid/echo:1',
      entrypoint: ['/bin/echo'],
      files: [
        { from: join(rootfs, 'usr/bin/echo'), to: '/bin/echo' },
        { from: join(rootfs, 'usr/lib/x86_64-linux-gnu/libc.so.6'), to: '/lib/x86_64-linux-gnu/libc.so.6' },
        { from: join(rootfs, 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'), to: '/lib64/ld-linux-x86-64.so.2' },
      ],
      out: join(scratch, 'echo-image.tar'),
    });
    const scp = await runCommand('scp', ['-i', host.users.root.keyPath, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${host.knownHostsPath}`, image, `root@${host.address}:/root/echo.tar`]);
    expect(scp.stderr).toBe('');
    const script = [
      'set -e',
      'systemctl start containerd',
      'ctr -n k8s.io images import /root/echo.tar >/dev/null',
      'ctr -n k8s.io run --rm example.invalid/echo:1 echo-1 /bin/echo hello from runc',
    ].join('\n');
    const r = await ssh(host, 'root', script);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('hello from runc');
  });

  it("shows kubelet's kernel settings inside a host without changing the machine's", async () => {
    const host = hosts[0]!;
    const machine = readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim();
    const inside = await ssh(host, 'root', 'cat /proc/sys/vm/overcommit_memory /proc/sys/kernel/panic; echo 2 > /proc/sys/vm/overcommit_memory');
    expect(inside.stdout.split('\n').slice(0, 2)).toEqual(['1', '10']);
    expect(inside.stderr).toMatch(/Read-only file system/);
    expect(readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim()).toBe(machine);
    // Per-host (network namespace) settings stay writable: kube-proxy and CNI need them.
    expect((await ssh(host, 'root', 'sysctl -w net.ipv4.ip_forward=1')).stdout.trim()).toBe('net.ipv4.ip_forward = 1');
  });

  it('removes what a crashed run left, and never what a live run holds', async () => {
    const crashing = fileURLToPath(new URL('../harness/test-hosts-crashing-run.ts', import.meta.url));
    const child = spawn(process.execPath, [crashing], { stdio: ['ignore', 'pipe', 'inherit'] });
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /^up (\S+)$/m.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`crashing run exited early (${code})`)));
    });
    const slot = Number(address.split('.')[2]);
    expect(await reachable(address)).toBe(true);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await leftovers(slot)).not.toEqual([]);

    const purged = await purgeStaleSlots();
    expect(purged).toContain(slot);
    expect(purged).not.toContain(slotOf(hosts[0]!));
    expect(await leftovers(slot)).toEqual([]);
    // This run's hosts were left alone.
    expect((await ssh(hosts[0]!, 'root', 'hostname')).stdout.trim()).toBe('node-1');
  });

  it('stopTestHosts leaves no namespace, process, mount or file behind', async () => {
    const slot = slotOf(hosts[0]!);
    expect(await leftovers(slot)).not.toEqual([]);
    await stopTestHosts();
    expect(await leftovers(slot)).toEqual([]);
  });
});
