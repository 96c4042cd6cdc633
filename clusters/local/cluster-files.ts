import { access, mkdir, readFile, readdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalClusterNotFoundError, LocalClusterStateError } from '../errors.ts';
import { parseClusterState, type LocalClusterState } from './cluster-state.ts';
import { componentKubeconfigPath } from './control-plane.ts';
import { contextNameFor, renderKubeconfig } from './kubeconfig-file.ts';
import type { ClusterLayout } from './layout.ts';
import { readPki } from './pki.ts';

/** Reading and writing a local cluster's files: state, kubeconfigs. */

export async function readState(layout: ClusterLayout): Promise<LocalClusterState | undefined> {
  let text: string;
  try {
    text = await readFile(layout.stateFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = parseClusterState(text);
  if (typeof state === 'string') {
    throw new LocalClusterStateError(`local cluster "${layout.name}" has a corrupt state file: ${state}`, {
      where: layout.stateFile,
      hint: `run \`infra local down ${layout.name} --purge\` and create it again`,
    });
  }
  if (state.name !== layout.name) {
    throw new LocalClusterStateError(`state file names cluster "${state.name}", not "${layout.name}"`, {
      where: layout.stateFile,
      hint: `run \`infra local down ${layout.name} --purge\` and create it again`,
    });
  }
  return state;
}

export async function requireState(layout: ClusterLayout): Promise<LocalClusterState> {
  const state = await readState(layout);
  if (!state) {
    throw new LocalClusterNotFoundError(`no local cluster named "${layout.name}"`, {
      hint: 'run `infra local list` to see the local clusters, or `infra local up NAME` to create one',
    });
  }
  return state;
}

/** Writes the state atomically (temp file + rename): a crash leaves the old or the new one. */
export async function writeState(layout: ClusterLayout, state: LocalClusterState): Promise<void> {
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  const tmp = `${layout.stateFile}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, layout.stateFile);
}

export function serverUrl(state: LocalClusterState): string {
  return `https://127.0.0.1:${state.ports.apiserver}`;
}

/**
 * Writes the admin kubeconfig (self-contained: certificates embedded, 0600) and the
 * components' kubeconfigs (pointing at PKI files).
 */
export async function writeKubeconfigs(layout: ClusterLayout, state: LocalClusterState): Promise<void> {
  const server = serverUrl(state);
  const contextName = contextNameFor(state.name);
  const admin = renderKubeconfig({
    contextName,
    server,
    user: `${contextName}-admin`,
    ca: { data: await readPki(layout.pkiDir, 'ca.crt') },
    clientCert: { data: await readPki(layout.pkiDir, 'admin.crt') },
    clientKey: { data: await readPki(layout.pkiDir, 'admin.key') },
  });
  await writeSecretFile(layout.kubeconfig, admin);

  await mkdir(layout.componentKubeconfigDir, { recursive: true, mode: 0o700 });
  for (const component of ['controller-manager', 'scheduler', 'kwok'] as const) {
    const text = renderKubeconfig({
      contextName,
      server,
      user: component,
      ca: { file: join(layout.pkiDir, 'ca.crt') },
      clientCert: { file: join(layout.pkiDir, `${component}.crt`) },
      clientKey: { file: join(layout.pkiDir, `${component}.key`) },
    });
    await writeSecretFile(componentKubeconfigPath(layout, component), text);
  }
}

async function writeSecretFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

/** Names of the directories under `root` that hold a cluster state file. */
export async function clusterNames(root: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const entry of entries.sort()) {
    try {
      await access(join(root, entry, 'cluster.json'));
      names.push(entry);
    } catch {
      // not a cluster directory
    }
  }
  return names;
}
