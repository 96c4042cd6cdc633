import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TestHost } from './test-hosts.ts';

/**
 * A `kubernetes` cluster on the SSH test hosts as a stack file, and the client environment
 * `infra` needs to reach them (an ssh config with the test user's key; an empty known_hosts so
 * host keys are pinned on first use into the stack's state).
 */
export interface BinariesStackFixture {
  readonly dir: string;
  readonly stackFile: string;
  readonly env: NodeJS.ProcessEnv;
  readonly infraHome: string;
}

/** `version`: the cluster's Kubernetes version; `clusterFields` override the cluster's (e.g. `cni: flannel` so the CNI add-on brings the Pod network). */
export async function binariesStack(hosts: readonly TestHost[], o: { cluster: string; controlPlanes: number; user?: 'root' | 'alice'; version?: string; clusterFields?: Record<string, unknown> }): Promise<BinariesStackFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-binaries-'));
  const user = o.user ?? 'alice';
  const subnet = hosts[0]!.address.split('.').slice(0, 3).join('.');
  const sshConfig = join(dir, 'ssh_config');
  await writeFile(sshConfig, `Host ${subnet}.*\n  User ${user}\n  IdentityFile ${hosts[0]!.users[user].keyPath}\n  IdentitiesOnly yes\n`, { mode: 0o600 });
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, '', { mode: 0o600 });
  // Its own home per fixture: the stack's state must not outlive the hosts it pinned.
  const infraHome = join(dir, 'home');
  await writeStack(join(dir, 'stack.yaml'), hosts, o.cluster, o.controlPlanes, user, undefined, { ...(o.version ? { version: o.version } : {}), ...o.clusterFields });
  return {
    dir,
    stackFile: join(dir, 'stack.yaml'),
    infraHome,
    env: { ...process.env, INFRA_HOME: infraHome, INFRA_OFFLINE: '1', INFRA_SSH_CONFIG: sshConfig, INFRA_SSH_KNOWN_HOSTS: knownHosts, INFRA_NO_COLOR: '1' },
  };
}

/** `extra`: more fields of the cluster (e.g. its Kubernetes `version`). */
export async function writeStack(path: string, hosts: readonly TestHost[], cluster: string, controlPlanes: number, user: string, gitops?: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
  const text = stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: cluster },
    sites: [{ name: 'lab', kind: 'ssh' }],
    hosts: hosts.map((h) => ({ name: h.name, site: 'lab', address: h.address, user, port: h.port, memoryGiB: 4, cpus: 2 })),
    clusters: [{ name: cluster, site: 'lab', distribution: 'kubernetes', controlPlanes, hosts: hosts.map((h) => h.name), cni: 'bridge', csi: 'none', labels: { where: 'lab' }, ...extra }],
    ...(gitops ? { gitops } : {}),
  });
  await writeFile(path, text);
}

/** Mutating commands journalled by the distribution (one line per resource apply that changed a host). */
export async function mutationLines(infraHome: string): Promise<string[]> {
  try {
    return (await readFile(join(infraHome, 'hosts', 'mutations.log'), 'utf8')).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
