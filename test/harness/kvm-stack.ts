import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runCommand } from '../../clusters/host/command.ts';
import type { KvmImage } from './kvm-image.ts';
import type { KvmSlotLayout } from './kvm-layout.ts';

/**
 * A stack with one kvm site on the harness's private libvirtd and its VMs, plus the client
 * environment: an ssh config naming a fresh key for the VMs' subnet (cloud-init installs its
 * .pub), an empty known_hosts (host keys are pinned on first use into the stack's state).
 */
export interface KvmStackFixture {
  readonly dir: string;
  readonly stackFile: string;
  readonly keyPath: string;
  readonly env: NodeJS.ProcessEnv;
  readonly pool: string;
}

export interface KvmVm {
  readonly name: string;
  readonly memoryGiB?: number;
}

export async function kvmStack(run: KvmSlotLayout, image: KvmImage, vms: readonly KvmVm[], o: { user: string; stack?: string }): Promise<KvmStackFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-kvm-'));
  const keyPath = join(dir, 'id_ed25519');
  await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'infra-kvm-test', '-f', keyPath]);
  const sshConfig = join(dir, 'ssh_config');
  await writeFile(sshConfig, `Host *\n  User ${o.user}\n  IdentityFile ${keyPath}\n  IdentitiesOnly yes\n`, { mode: 0o600 });
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, '', { mode: 0o600 });
  const pool = join(run.poolsDir, 'main');
  await mkdir(pool, { recursive: true });
  const stackFile = join(dir, 'stack.yaml');
  await writeKvmStack(stackFile, run, image, vms, { user: o.user, pool, stack: o.stack ?? 'vms' });
  return {
    dir,
    stackFile,
    keyPath,
    pool,
    env: { ...process.env, INFRA_HOME: join(dir, 'home'), INFRA_OFFLINE: '1', INFRA_SSH_CONFIG: sshConfig, INFRA_SSH_KNOWN_HOSTS: knownHosts, INFRA_NO_COLOR: '1' },
  };
}

/** `cluster`: a `kubernetes` cluster (the `binaries` distribution) on the site's VMs, with these fields. */
export async function writeKvmStack(path: string, run: KvmSlotLayout, image: KvmImage, vms: readonly KvmVm[], o: { user: string; pool: string; stack: string; uri?: string; site?: string; subnet?: string; cluster?: Record<string, unknown> }): Promise<void> {
  const site = o.site ?? 'lab';
  const text = stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: o.stack },
    sites: [{ name: site, kind: 'kvm', uri: o.uri ?? run.uri, pool: o.pool, subnet: o.subnet ?? `${run.vmSubnetPrefix}.0/24`, image: image.disk, accel: 'tcg', kernel: image.kernel, initrd: image.initrd, cmdline: image.cmdline }],
    hosts: vms.map((v) => ({ name: v.name, site, user: o.user, cpus: 1, memoryGiB: v.memoryGiB ?? 1 })),
    ...(o.cluster ? { clusters: [{ site, distribution: 'kubernetes', hosts: vms.map((v) => v.name), ...o.cluster }] } : {}),
  });
  await writeFile(path, text);
}
