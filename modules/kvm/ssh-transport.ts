import { shellQuote } from '../hosts/shell-quote.ts';
import type { HostKeyPin } from '../hosts/host-key-policy.ts';

/**
 * A `qemu+ssh://` libvirt URI goes through the `ssh` binary, which would check host keys by its
 * own rules (~/.ssh/known_hosts, and ask when unknown). infra checks them like its SSH layer: the
 * libvirt host is a `Host` whose key is verified against known_hosts or pinned in the stack's
 * state; virsh then runs ssh through a wrapper (libvirt's `command=` parameter) that accepts only
 * that key (strict checking, the pinned key and the same known_hosts files) and the same ssh config.
 * Pure: the effects (temporary files, virsh) are in virsh.ts.
 */

export interface SshTarget {
  readonly host: string;
  readonly user?: string;
  readonly port?: number;
}

/** The SSH endpoint of a `<driver>+ssh://[user@]host[:port]/...` URI; undefined for any other transport. */
export function sshTarget(uri: string): SshTarget | undefined {
  if (!/^[a-z0-9]+\+ssh:\/\//i.test(uri)) return undefined;
  const u = new URL(uri);
  if (!u.hostname) return undefined;
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.port ? { port: Number(u.port) } : {}),
  };
}

/** The URI with libvirt's `command=` parameter naming the ssh wrapper (a path of safe characters). */
export function withSshCommand(uri: string, wrapper: string): string {
  if (!/^[A-Za-z0-9/_.-]+$/.test(wrapper)) throw new Error(`ssh wrapper path with unsafe characters: ${wrapper}`);
  if (/[?&]command=/.test(uri)) throw new Error(`the libvirt URI ${uri} names its own ssh command; infra sets it to check host keys`);
  return `${uri}${uri.includes('?') ? '&' : '?'}command=${wrapper}`;
}

/**
 * known_hosts lines for the pinned keys. The file serves this one connection only, so the
 * pattern is `*`: whatever name ssh looks the host up by (an alias, `[host]:port`), only these keys match.
 */
export function pinnedKnownHosts(pins: readonly HostKeyPin[]): string {
  return pins.map((p) => `* ${p.type} ${p.publicKey}\n`).join('');
}

/** The `ssh` that virsh runs: strict host key checking against exactly these files, never a prompt. */
export function sshWrapperScript(o: { knownHostsFiles: readonly string[]; configPath?: string }): string {
  const args = [
    ...(o.configPath ? ['-F', o.configPath] : []),
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${o.knownHostsFiles.join(' ')}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
  ];
  return `#!/bin/sh\nexec ssh ${args.map(shellQuote).join(' ')} "$@"\n`;
}
