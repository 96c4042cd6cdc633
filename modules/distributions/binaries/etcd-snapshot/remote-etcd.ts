import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { EtcdSnapshotError } from '../../../../clusters/errors.ts';
import { etcdctlSnapshotSaveArgs, etcdutlRestoreArgs, etcdutlStatusArgs, parseSnapshotStatus, type SnapshotStatus } from '../../../../clusters/etcd/etcd-commands.ts';
import type { RepairStep, RestoreJournal, RestorePhase } from '../../../../clusters/etcd/restore-plan.ts';
import { publishSnapshot, sha256File, verifySnapshot } from '../../../../clusters/etcd/snapshot-file.ts';
import { runCommand, tail } from '../../../../clusters/host/command.ts';
import { waitFor } from '../../../../clusters/wait.ts';
import type { Progress } from '../../../../clusters/tools/heartbeat.ts';
import type { RemoteHost } from '../../../hosts/index.ts';
import { HostsFailedError } from '../errors.ts';
import type { BinariesTopology } from '../topology.ts';
import { kubeconfigPath } from '../layout.ts';
import {
  clusterRepairPlan,
  clusterToken,
  members,
  parseProbe,
  PROBE_ARGS,
  PROBE_SCRIPT,
  REMOTE_ENDPOINT,
  REMOTE_PATHS,
  REMOTE_TLS,
  STOP_ORDER,
} from './remote-etcd-plan.ts';

/**
 * `infra etcd snapshot|restore` for a `binaries` cluster over the SSH layer. Snapshot: etcdctl
 * on one control-plane host saves through the maintenance API; the file is fetched, checked
 * against the host's SHA-256 and published 0600 with its checksum. Restore: every member gets
 * the snapshot (upload verified by checksum) and restores it into a new data dir while the
 * cluster still runs; then the control plane stops everywhere, the dirs swap, etcd starts on
 * all members, then the rest; the old data goes once the apiserver is ready. A journal per
 * member lets the next run finish or undo a restore cut short (remote-etcd-plan.ts).
 */

export interface RemoteEtcdOptions {
  /** Local paths of etcdctl/etcdutl at the pinned version (the resolver's cache). */
  readonly tools: { readonly etcdctl: string; readonly etcdutl: string };
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /** How long to wait for etcd and the apiserver after a restore (default 120 s). */
  readonly readyTimeoutMs?: number;
}

const sudo = { sudo: true } as const;

async function installTool(host: RemoteHost, local: string, remote: string, signal?: AbortSignal): Promise<void> {
  await host.run(['mkdir', '-p', '-m', '0700', dirname(remote), REMOTE_PATHS.work], { ...sudo, mutating: true, step: 'etcd tools dir', quiet: true, ...(signal ? { signal } : {}) });
  await host.upload(local, remote, { mode: '0755', ...sudo, step: `install ${remote}`, ...(signal ? { signal } : {}) });
}

export interface RemoteSnapshotResult extends SnapshotStatus {
  readonly cluster: string;
  readonly host: string;
  readonly file: string;
  readonly sha256: string;
}

/** Saves a snapshot through the first control-plane host in `hosts` (they are the members, in topology order). */
export async function snapshotOverSsh(t: BinariesTopology, hosts: readonly RemoteHost[], output: string, options: RemoteEtcdOptions): Promise<RemoteSnapshotResult> {
  const host = hosts[0];
  if (!host) throw new EtcdSnapshotError(`cluster "${t.cluster}" has no control-plane host to snapshot from`, { where: `cluster ${t.cluster}` });
  const signal = options.signal ? { signal: options.signal } : {};
  await installTool(host, options.tools.etcdctl, REMOTE_PATHS.etcdctl, options.signal);
  const remote = `${REMOTE_PATHS.work}/snapshot-${process.pid}.db`;
  const target = resolve(output);
  const partial = `${target}.partial-${process.pid}`;
  try {
    await host.run([REMOTE_PATHS.etcdctl, ...etcdctlSnapshotSaveArgs(REMOTE_ENDPOINT, REMOTE_TLS, remote)], { ...sudo, mutating: true, step: 'etcdctl snapshot save', ...signal });
    const remoteSum = await host.fileSha256(remote, { ...sudo, ...signal });
    const bytes = await host.readFile(remote, { ...sudo, ...signal });
    await mkdir(dirname(target), { recursive: true });
    await writeFile(partial, bytes, { mode: 0o600 });
    const localSum = await sha256File(partial);
    if (remoteSum !== localSum) {
      throw new EtcdSnapshotError(`the snapshot fetched from ${host.name} has SHA-256 ${localSum}, the host computed ${remoteSum}`, { where: `host ${host.name}`, hint: 'the transfer was damaged: run the snapshot again' });
    }
    const status = await localStatus(options.tools.etcdutl, partial, options);
    const sha256 = await publishSnapshot(partial, target);
    options.progress?.(`saved etcd of "${t.cluster}" from ${host.name} at revision ${status.revision} (${status.totalKeys} keys) to ${target}`);
    return { cluster: t.cluster, host: host.name, file: target, sha256, ...status };
  } finally {
    await rm(partial, { force: true });
    await host.run(['rm', '-f', remote, `${remote}.part`], { ...sudo, mutating: true, step: 'remove the remote snapshot', quiet: true }).catch(() => undefined);
  }
}

async function localStatus(etcdutl: string, file: string, options: RemoteEtcdOptions): Promise<SnapshotStatus> {
  const r = await runCommand(etcdutl, etcdutlStatusArgs(file), options.signal ? { signal: options.signal } : {});
  const status = r.code === 0 ? parseSnapshotStatus(r.stdout) : tail(r.stderr, 3);
  if (typeof status === 'string') throw new EtcdSnapshotError(`not a readable etcd snapshot: ${status}`, { where: file });
  return status;
}

async function writeRemoteJournal(host: RemoteHost, journal: RestoreJournal, phase: RestorePhase, signal?: AbortSignal): Promise<RestoreJournal> {
  const next = { ...journal, phase };
  // The SSH layer's upload writes a temp file and renames it: atomic like the local journal.
  await host.upload(Buffer.from(`${JSON.stringify(next, null, 2)}\n`), REMOTE_PATHS.journal, { mode: '0600', ...sudo, step: `restore journal: ${phase}`, ...(signal ? { signal } : {}) });
  return next;
}

async function stopControlPlane(host: RemoteHost, signal?: AbortSignal): Promise<void> {
  await host.run(['systemctl', 'stop', ...STOP_ORDER], { ...sudo, mutating: true, step: 'stop the control plane', ...(signal ? { signal } : {}) });
}

async function runRepairStep(host: RemoteHost, step: RepairStep, journal: RestoreJournal | undefined, signal?: AbortSignal): Promise<void> {
  const run = (argv: string[], name: string) => host.run(argv, { ...sudo, mutating: true, step: name, ...(signal ? { signal } : {}) });
  switch (step) {
    case 'remove-fresh':
      await run(['rm', '-rf', REMOTE_PATHS.fresh], 'remove the half-written restore');
      return;
    case 'stop-all':
      await stopControlPlane(host, signal);
      return;
    case 'move-data-to-old':
      await run(['mv', REMOTE_PATHS.data, REMOTE_PATHS.old], 'move the old etcd data aside');
      return;
    case 'move-fresh-to-data':
      await run(['mv', REMOTE_PATHS.freshMember, REMOTE_PATHS.data], 'move the restored etcd data in');
      return;
    case 'mark-swapped':
      if (journal) await writeRemoteJournal(host, journal, 'swapped', signal);
      return;
    case 'remove-journal':
      await run(['rm', '-f', REMOTE_PATHS.journal], 'remove the restore journal');
      return;
  }
}

/** Brings every member to one consistent state after a restore cut short (a no-op otherwise). */
export async function repairOverSsh(hosts: readonly RemoteHost[], options: { progress?: Progress; signal?: AbortSignal } = {}): Promise<'none' | 'rollback' | 'forward'> {
  const signal = options.signal ? { signal: options.signal } : {};
  const states = await Promise.all(hosts.map(async (h) => parseProbe(h.name, (await h.run({ script: PROBE_SCRIPT, args: PROBE_ARGS }, { ...sudo, quiet: true, step: 'read the restore state', ...signal })).stdout)));
  const plan = clusterRepairPlan(states);
  for (const host of hosts) {
    const journal = states.find((s) => s.host === host.name)?.journal;
    for (const step of plan.steps.get(host.name) ?? []) await runRepairStep(host, step, journal, options.signal);
  }
  if (plan.says) options.progress?.(plan.says);
  return plan.decision;
}

export interface RemoteRestoreResult extends SnapshotStatus {
  readonly cluster: string;
  readonly file: string;
  readonly sha256: string;
  readonly members: readonly string[];
}

/** Restores `file` on every control-plane host of `t` (`hosts` in topology order). */
export async function restoreOverSsh(t: BinariesTopology, hosts: readonly RemoteHost[], file: string, options: RemoteEtcdOptions): Promise<RemoteRestoreResult> {
  const progress = options.progress ?? (() => {});
  const signal = options.signal;
  const snapshot = resolve(file);
  const sha256 = await verifySnapshot(snapshot);
  const status = await localStatus(options.tools.etcdutl, snapshot, options);
  const all = members(t);
  if (hosts.length !== all.length) throw new EtcdSnapshotError(`cluster "${t.cluster}" has ${all.length} etcd members but ${hosts.length} connected host(s)`, { where: `cluster ${t.cluster}`, hint: 'every control-plane host must be reachable for a restore' });

  await repairOverSsh(hosts, { progress, ...(signal ? { signal } : {}) });
  const remoteSnapshot = `${REMOTE_PATHS.work}/restore.db`;
  const started: RestoreJournal = { phase: 'restoring', snapshot, sha256, startedAt: new Date().toISOString() };

  // 1. Every member restores into its new dir while the cluster still serves.
  await onEveryHost(t, hosts, async (host, i) => {
      await installTool(host, options.tools.etcdutl, REMOTE_PATHS.etcdutl, signal);
      await installTool(host, options.tools.etcdctl, REMOTE_PATHS.etcdctl, signal);
      await host.upload(await readFile(snapshot), remoteSnapshot, { mode: '0600', sha256, ...sudo, step: 'upload the snapshot', ...(signal ? { signal } : {}) });
      const journal = await writeRemoteJournal(host, started, 'restoring', signal);
      await host.run(['rm', '-rf', REMOTE_PATHS.fresh], { ...sudo, mutating: true, step: 'clear the restore dir', quiet: true });
      const member = all[i] as (typeof all)[number];
      await host.run([REMOTE_PATHS.etcdutl, ...etcdutlRestoreArgs(remoteSnapshot, REMOTE_PATHS.fresh, member, all, clusterToken(t))], { ...sudo, mutating: true, step: 'etcdutl snapshot restore', ...(signal ? { signal } : {}) });
      await writeRemoteJournal(host, journal, 'restored', signal);
  });
  signal?.throwIfAborted();
  // 2. From here on the repair rolls forward: stop everywhere, then swap (the same steps a crash is repaired with).
  progress(`stopping the control plane of "${t.cluster}" on ${hosts.map((h) => h.name).join(', ')} to swap its etcd data`);
  await onEveryHost(t, hosts, (h) => stopControlPlane(h, signal));
  await repairOverSsh(hosts, { ...(signal ? { signal } : {}) });
  // 3. etcd on every member at once (a member alone has no quorum), then the rest.
  await onEveryHost(t, hosts, (h) => h.run(['systemctl', 'start', 'etcd'], { ...sudo, mutating: true, step: 'start etcd', ...(signal ? { signal } : {}) }));
  await waitRemote(hosts[0] as RemoteHost, [REMOTE_PATHS.etcdctl, `--endpoints=${REMOTE_ENDPOINT}`, `--cacert=${REMOTE_TLS.caFile}`, `--cert=${REMOTE_TLS.certFile}`, `--key=${REMOTE_TLS.keyFile}`, 'endpoint', 'health', '--cluster'], 'etcd healthy', options);
  const rest = [...STOP_ORDER].reverse().filter((u) => u !== 'etcd');
  await onEveryHost(t, hosts, (h) => h.run(['systemctl', 'start', ...rest], { ...sudo, mutating: true, step: 'start the control plane', ...(signal ? { signal } : {}) }));
  await waitRemote(hosts[0] as RemoteHost, ['/usr/local/bin/kubectl', `--kubeconfig=${kubeconfigPath('admin')}`, 'get', '--raw=/readyz'], 'kube-apiserver ready', options);
  // 4. Up on the restored data: the old data and the journals go.
  await onEveryHost(t, hosts, (h) =>
    h.run(['rm', '-rf', REMOTE_PATHS.old, REMOTE_PATHS.fresh, REMOTE_PATHS.journal, remoteSnapshot], { ...sudo, mutating: true, step: 'remove the data from before the restore' }),
  );
  progress(`cluster "${t.cluster}" runs on ${snapshot} (revision ${status.revision}) on ${hosts.map((h) => h.name).join(', ')}`);
  return { cluster: t.cluster, file: snapshot, sha256, ...status, members: hosts.map((h) => h.name) };
}

/**
 * Runs `work` on every member and waits for all of them, also when one fails: a restore step
 * must never still be running on one host when the command has already reported failure.
 */
async function onEveryHost<T>(t: BinariesTopology, hosts: readonly RemoteHost[], work: (host: RemoteHost, i: number) => Promise<T>): Promise<void> {
  const outcomes = await Promise.allSettled(hosts.map((h, i) => work(h, i)));
  const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ host: hosts[i]?.name ?? '?', error: o.reason as unknown }] : []));
  if (failures.length === 1) throw failures[0]?.error;
  if (failures.length > 1) {
    const finished = hosts.filter((_, i) => outcomes[i]?.status === 'fulfilled').map((h) => h.name);
    throw new HostsFailedError(t.cluster, failures.map((f) => ({ host: f.host, message: f.error instanceof Error ? f.error.message : String(f.error) })), finished);
  }
}

async function waitRemote(host: RemoteHost, argv: string[], what: string, options: RemoteEtcdOptions): Promise<void> {
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const ok = await waitFor(
    async () => ((await host.run(argv, { ...sudo, quiet: true, okExitCodes: [0, 1], step: what })).code === 0 ? true : undefined),
    { timeoutMs, intervalMs: 500, ...(options.signal ? { signal: options.signal } : {}) },
  );
  if (!ok) {
    throw new EtcdSnapshotError(`${what} did not come within ${timeoutMs / 1000}s after the restore`, {
      where: `host ${host.name}`,
      hint: `read \`journalctl -u etcd -u kube-apiserver\` there; the data from before is kept in ${REMOTE_PATHS.old} until the restore finishes`,
    });
  }
}
