import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ComponentFailedError, EtcdSnapshotError, SnapshotInvalidError } from '../errors.ts';
import { etcdctlSnapshotSaveArgs, etcdutlRestoreArgs, etcdutlStatusArgs, parseSnapshotStatus, type EtcdClientTls, type SnapshotStatus } from '../etcd/etcd-commands.ts';
import { publishSnapshot, verifySnapshot } from '../etcd/snapshot-file.ts';
import { runCommand, tail } from '../host/command.ts';
import { acquireLock } from '../host/file-lock.ts';
import type { Progress } from '../tools/heartbeat.ts';
import { resolveBinary } from '../tools/resolver.ts';
import { requireState } from './cluster-files.ts';
import { layoutFor, startControlPlane, stopControlPlane } from './local-cluster.ts';
import type { ClusterLayout } from './layout.ts';
import { runningProcess } from './processes.ts';
import { repairInterruptedRestore, restorePaths, writeJournal } from './restore-state.ts';

/**
 * `infra etcd snapshot|restore` for a local cluster: etcdctl saves through etcd's maintenance
 * API (a consistent point in time while the cluster runs); etcdutl restores into a new data
 * directory that replaces the old one by rename, with a journal so a crash at any moment is
 * repaired by the next `restore` or `infra local up` (see clusters/etcd/restore-plan.ts).
 */

export interface EtcdOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

export interface SnapshotResult extends SnapshotStatus {
  readonly cluster: string;
  readonly file: string;
  readonly sha256: string;
}

function clientTls(layout: ClusterLayout): EtcdClientTls {
  const pki = (f: string) => join(layout.pkiDir, f);
  return { caFile: pki('ca.crt'), certFile: pki('apiserver-etcd-client.crt'), keyFile: pki('apiserver-etcd-client.key') };
}

export async function snapshotLocalCluster(name: string, output: string, options: EtcdOptions = {}): Promise<SnapshotResult> {
  const layout = layoutFor(name, options.env);
  const state = await requireState(layout);
  if (!runningProcess(layout, 'etcd')) {
    throw new ComponentFailedError(`etcd of local cluster "${name}" is not running: nothing to snapshot`, {
      where: layout.dir,
      hint: `start it with \`infra local up ${name}\``,
    });
  }
  const [etcdctl, etcdutl] = await Promise.all([resolveTool('etcdctl', options), resolveTool('etcdutl', options)]);
  const target = resolve(output);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  try {
    const endpoint = `https://127.0.0.1:${state.ports.etcdClient}`;
    const r = await runCommand(etcdctl, etcdctlSnapshotSaveArgs(endpoint, clientTls(layout), partial), { env: options.env, signal: options.signal });
    if (r.code !== 0) {
      throw new EtcdSnapshotError(`etcdctl snapshot save failed: ${tail(r.stderr, 3) || `exit ${r.code}`}`, {
        where: `local cluster ${name} (${endpoint})`,
        hint: `check that etcd answers (\`infra local up ${name}\` restarts what died)`,
      });
    }
    const status = await snapshotStatus(etcdutl, partial, options);
    const sha256 = await publishSnapshot(partial, target);
    options.progress?.(`saved etcd of "${name}" at revision ${status.revision} (${status.totalKeys} keys) to ${target}`);
    return { cluster: name, file: target, sha256, ...status };
  } finally {
    await rm(partial, { force: true });
    await rm(`${partial}.part`, { force: true });
  }
}

export interface RestoreResult extends SnapshotStatus {
  readonly cluster: string;
  readonly file: string;
  readonly sha256: string;
  /** The apiserver, now serving the restored data. */
  readonly server: string;
}

/**
 * Replaces a local cluster's etcd data with a snapshot: verify the file, restore it into a
 * new data dir while the cluster still runs, stop the control plane, swap the directories,
 * start, wait until the cluster works, then delete the old data.
 */
export async function restoreLocalCluster(name: string, file: string, options: EtcdOptions = {}): Promise<RestoreResult> {
  const layout = layoutFor(name, options.env);
  const state = await requireState(layout);
  const progress = options.progress ?? (() => {});
  const snapshot = resolve(file);
  const sha256 = await verifySnapshot(snapshot);
  const etcdutl = await resolveTool('etcdutl', options);
  const status = await snapshotStatus(etcdutl, snapshot, options);

  const lock = await acquireLock(layout.lockDir, { what: `local cluster "${name}"`, wait: false });
  try {
    await repairInterruptedRestore(layout, () => stopControlPlane(layout), progress);
    const paths = restorePaths(layout);
    let journal = await writeJournal(layout, { phase: 'restoring', snapshot, sha256, startedAt: new Date().toISOString() }, 'restoring');
    await rm(paths.fresh, { recursive: true, force: true });
    const peerUrl = `https://127.0.0.1:${state.ports.etcdPeer}`;
    progress(`restoring ${snapshot} (revision ${status.revision}, ${status.totalKeys} keys) into a new data dir of "${name}"`);
    const r = await runCommand(etcdutl, etcdutlRestoreArgs(snapshot, paths.fresh, { name: state.name, peerUrl }), { env: options.env, signal: options.signal });
    if (r.code !== 0) {
      await rm(paths.fresh, { recursive: true, force: true });
      await rm(paths.journal, { force: true });
      throw new EtcdSnapshotError(`etcdutl snapshot restore failed: ${tail(r.stderr, 3) || `exit ${r.code}`}`, {
        where: `local cluster ${name}: ${snapshot}`,
        hint: 'nothing was changed: the cluster keeps running on its data',
      });
    }
    journal = await writeJournal(layout, journal, 'restored');
    options.signal?.throwIfAborted();
    progress(`stopping the control plane of "${name}" to swap its etcd data`);
    // From `restored` on, the repair rolls forward: the same steps a crash would be repaired with.
    await repairInterruptedRestore(layout, () => stopControlPlane(layout), () => {});
    const up = await startControlPlane(layout, state, { ...options, progress });
    return { cluster: name, file: snapshot, sha256, ...status, server: up.server };
  } finally {
    await lock.release();
  }
}

async function snapshotStatus(etcdutl: string, file: string, options: EtcdOptions): Promise<SnapshotStatus> {
  const r = await runCommand(etcdutl, etcdutlStatusArgs(file), { env: options.env, signal: options.signal });
  const status = r.code === 0 ? parseSnapshotStatus(r.stdout) : tail(r.stderr, 3) || `exit ${r.code}`;
  if (typeof status === 'string') {
    throw new SnapshotInvalidError(`not a readable etcd snapshot: ${status}`, { where: file, hint: 'use a file written by `infra etcd snapshot` or `etcdctl snapshot save`' });
  }
  return status;
}

async function resolveTool(name: 'etcdctl' | 'etcdutl', options: EtcdOptions): Promise<string> {
  return (await resolveBinary(name, { env: options.env, progress: options.progress, signal: options.signal })).path;
}
