/**
 * The command lines of etcd's own tools for snapshots, and reading their answers. Pure: the
 * same argument vectors serve a local cluster (run here) and a cluster on hosts (run over SSH).
 */

export interface EtcdClientTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The member a restore recreates: the same name and peer URL it had, so its flags still fit. */
export interface EtcdMember {
  readonly name: string;
  readonly peerUrl: string;
}

/**
 * How far a restore moves the revision past the snapshot's, marked compacted: clients that
 * watched the old data (informers, the apiserver's cache) must never see a revision they
 * already saw with other content. etcd's and Kubernetes' restore guides use this figure.
 */
export const RESTORE_REVISION_BUMP = 1_000_000_000;

export function etcdctlSnapshotSaveArgs(endpoint: string, tls: EtcdClientTls, output: string): string[] {
  return [
    `--endpoints=${endpoint}`,
    `--cacert=${tls.caFile}`,
    `--cert=${tls.certFile}`,
    `--key=${tls.keyFile}`,
    '--dial-timeout=10s',
    '--command-timeout=5m',
    'snapshot',
    'save',
    output,
  ];
}

export function etcdutlStatusArgs(snapshot: string): string[] {
  return ['snapshot', 'status', snapshot, '--write-out=json'];
}

/** A multi-member cluster restores every member from the same file with the full `initialCluster`. */
export function etcdutlRestoreArgs(
  snapshot: string,
  dataDir: string,
  member: EtcdMember,
  initialCluster: readonly EtcdMember[] = [member],
  clusterToken?: string,
): string[] {
  return [
    'snapshot',
    'restore',
    snapshot,
    `--data-dir=${dataDir}`,
    `--name=${member.name}`,
    `--initial-advertise-peer-urls=${member.peerUrl}`,
    `--initial-cluster=${initialCluster.map((m) => `${m.name}=${m.peerUrl}`).join(',')}`,
    ...(clusterToken ? [`--initial-cluster-token=${clusterToken}`] : []),
    `--bump-revision=${RESTORE_REVISION_BUMP}`,
    '--mark-compacted',
  ];
}

export interface SnapshotStatus {
  readonly revision: number;
  readonly totalKeys: number;
  readonly totalSize: number;
}

/** Reads `etcdutl snapshot status --write-out=json`, or says why it is not one. */
export function parseSnapshotStatus(stdout: string): SnapshotStatus | string {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout.trim());
  } catch {
    return `etcdutl printed no JSON status: ${stdout.trim().slice(0, 200) || '(nothing)'}`;
  }
  const s = raw as Record<string, unknown>;
  const num = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
  const revision = num('revision');
  const totalKeys = num('totalKey');
  const totalSize = num('totalSize');
  if (revision === undefined || totalKeys === undefined || totalSize === undefined) return 'the status has no revision, totalKey or totalSize';
  return { revision, totalKeys, totalSize };
}

/** A default snapshot file name: the cluster and the UTC time, sortable. */
export function defaultSnapshotName(cluster: string, now: Date): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  return `${cluster}-etcd-${stamp}.db`;
}
