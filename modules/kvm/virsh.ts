import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../../clusters/host/command.ts';
import { sshConfigPath } from '../hosts/host-access.ts';
import type { HostKeyPin } from '../hosts/host-key-policy.ts';
import { LibvirtError } from './errors.ts';
import { pinnedKnownHosts, sshTarget, sshWrapperScript, withSshCommand } from './ssh-transport.ts';

/**
 * libvirt through `virsh -c <uri>`: an argument vector (never a shell string); a failure is a
 * LibvirtError with libvirt's own message (its `error:` lines), the URI and the resource.
 */
export interface Libvirt {
  readonly uri: string;
  run(args: readonly string[], resource: string, options?: { signal?: AbortSignal }): Promise<string>;
  /** Like run, but a failure is returned (for "does it exist" probes). */
  probe(args: readonly string[], options?: { signal?: AbortSignal }): Promise<{ ok: boolean; stdout: string; message: string }>;
  /** Runs a command that takes an XML file (define, net-define, pool-define, vol-create). */
  withXml(command: string, xml: string, extra: readonly string[], resource: string, options?: { signal?: AbortSignal }): Promise<string>;
}

/** Where a connection goes: the URI, and for an ssh URI the libvirt host's keys the SSH layer pinned. */
export interface LibvirtConnection {
  readonly uri: string;
  readonly hostKeys?: readonly HostKeyPin[];
}

export const libvirtOf = (c: LibvirtConnection): Libvirt => libvirt(c.uri, c.hostKeys);

export function libvirt(uri: string, hostKeys: readonly HostKeyPin[] = []): Libvirt {
  const virsh = (args: readonly string[], signal?: AbortSignal): Promise<CommandResult> =>
    viaCheckedSsh(uri, hostKeys, (u) => runCommand('virsh', ['-q', '-c', u, ...args], signal ? { signal } : {}));
  const self: Libvirt = {
    uri,
    async run(args, resource, options = {}) {
      const r = await virsh(args, options.signal);
      if (r.code !== 0) throw new LibvirtError(`virsh ${args[0] ?? ''} failed: ${libvirtMessage(r.stderr || r.stdout)}`, { uri, resource, hint: hintFor(r.stderr) });
      return r.stdout;
    },
    async probe(args, options = {}) {
      const r = await virsh(args, options.signal);
      return { ok: r.code === 0, stdout: r.stdout, message: libvirtMessage(r.stderr) };
    },
    async withXml(command, xml, extra, resource, options = {}) {
      const dir = await mkdtemp(join(tmpdir(), 'infra-kvm-'));
      try {
        const file = join(dir, 'object.xml');
        await writeFile(file, xml, { mode: 0o600 });
        return await self.run([command, ...extra, file], resource, options);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return self;
}

/**
 * Runs `work` with the URI virsh should use: unchanged unless it is an ssh URI; then with an ssh
 * wrapper (in a private temporary directory, removed after) that checks the host key strictly
 * against the pinned keys and the SSH layer's known_hosts file, with the SSH layer's ssh config.
 */
async function viaCheckedSsh<T>(uri: string, pins: readonly HostKeyPin[], work: (uri: string) => Promise<T>): Promise<T> {
  if (!sshTarget(uri)) return work(uri);
  const dir = await mkdtemp(join(tmpdir(), 'infra-virsh-'));
  try {
    const pinned = join(dir, 'known_hosts');
    await writeFile(pinned, pinnedKnownHosts(pins), { mode: 0o600 });
    const userFile = process.env['INFRA_SSH_KNOWN_HOSTS'] ?? join(homedir(), '.ssh', 'known_hosts');
    const config = sshConfigPath();
    const wrapper = join(dir, 'ssh');
    await writeFile(wrapper, sshWrapperScript({ knownHostsFiles: [pinned, userFile], ...(existsSync(config) ? { configPath: config } : {}) }), { mode: 0o700 });
    return await work(withSshCommand(uri, wrapper));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** libvirt's message from virsh's stderr, on one line. */
export function libvirtMessage(stderr: string): string {
  // ssh's banner about a changed key: its one line that matters is the key presented.
  const presented = /The fingerprint for the (\S+) key sent by the remote host is\s+(SHA256:[A-Za-z0-9+/]+)/.exec(stderr);
  if (/Host key verification failed/.test(stderr)) return `ssh refused the libvirt host: Host key verification failed${presented ? ` (it presented ${presented[1]} ${presented[2]})` : ''}`;
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.replace(/^error:\s*/, ''));
  return lines.join('; ') || 'no message';
}

function hintFor(stderr: string): string {
  if (/Host key verification failed/i.test(stderr)) return "the libvirt host's SSH key is not the one infra checked (pinned in the stack's state, or in known_hosts): if that host was reinstalled, verify its new key, then remove the old pin or known_hosts line";
  if (/Failed to connect|No such file or directory.*sock|Cannot recv data|unable to connect/i.test(stderr)) return 'check the site\'s libvirt URI and that libvirtd runs there';
  return 'see libvirt\'s message';
}
