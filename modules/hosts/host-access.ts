import { homedir } from 'node:os';
import { join } from 'node:path';
import { connectHost, type HostKeyPin, type RemoteHost } from './index.ts';

/** How to reach one host: from the stack, plus the host key pinned in the state. */
export interface HostAccess {
  readonly name: string;
  readonly address: string;
  readonly user: string;
  readonly port: number;
  /** The key pinned on first use (by the Host resource); only it is accepted afterwards. */
  readonly pins: readonly HostKeyPin[];
}

/** `INFRA_SSH_CONFIG` replaces ~/.ssh/config (tests, CI); `INFRA_SSH_KNOWN_HOSTS` the known_hosts file. */
export function sshConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['INFRA_SSH_CONFIG'] ?? join(homedir(), '.ssh', 'config');
}

export async function connect(access: HostAccess, options: { signal?: AbortSignal; pinOnFirstUse?: boolean; onPin?: (pin: HostKeyPin) => void; env?: NodeJS.ProcessEnv } = {}): Promise<RemoteHost> {
  const env = options.env ?? process.env;
  const knownHosts = env['INFRA_SSH_KNOWN_HOSTS'];
  return connectHost(
    { host: access.address, user: access.user, port: access.port },
    {
      sshConfigPath: sshConfigPath(env),
      name: access.name,
      hostKeys: {
        pins: access.pins,
        pinOnFirstUse: options.pinOnFirstUse ?? false,
        ...(options.onPin ? { onPin: options.onPin } : {}),
        ...(knownHosts ? { knownHostsFiles: [knownHosts] } : {}),
      },
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
}

/** Runs `work` on a connected host and always closes the connection. */
export async function withHost<T>(access: HostAccess, work: (h: RemoteHost) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
  const h = await connect(access, options);
  try {
    return await work(h);
  } finally {
    await h.close();
  }
}
