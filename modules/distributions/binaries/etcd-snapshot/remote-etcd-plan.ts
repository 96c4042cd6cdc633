import type { EtcdClientTls, EtcdMember } from '../../../../clusters/etcd/etcd-commands.ts';
import { parseJournal, repairPlan, type DataDirs, type RepairStep, type RestoreJournal } from '../../../../clusters/etcd/restore-plan.ts';
import { ETCD_DATA_DIR, pki } from '../layout.ts';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, type BinariesTopology } from '../topology.ts';

/**
 * etcd snapshot and restore for a `binaries` cluster, as pure decisions over its control-plane
 * hosts. The same journal and directories as a local cluster's restore
 * (clusters/etcd/restore-plan.ts), once per member, with one rule more: the members of one
 * cluster must all end on the same data. A member rolls forward only when every member had
 * its restored data complete; otherwise all roll back.
 */

/**
 * etcd's data dir is often a mount of its own (a dedicated disk; the test hosts bind-mount it),
 * which cannot be renamed: the swap moves its `member/` directory instead, and the restore is
 * written inside the same mount so every move is a rename on one filesystem.
 */
export const REMOTE_PATHS = {
  /** What etcd reads: `<data-dir>/member`. */
  data: `${ETCD_DATA_DIR}/member`,
  /** etcdutl's `--data-dir`; what a rollback removes. */
  fresh: `${ETCD_DATA_DIR}/restore-new`,
  /** The restored member, moved into place by the swap. */
  freshMember: `${ETCD_DATA_DIR}/restore-new/member`,
  old: `${ETCD_DATA_DIR}/member.restore-old`,
  journal: `${ETCD_DATA_DIR}.restore.json`,
  /** Where a snapshot is saved before it is fetched, and uploaded before it is restored (0700, root). */
  work: '/var/lib/infra/etcd-snapshots',
  etcdctl: '/var/lib/infra/etcd-tools/etcdctl',
  etcdutl: '/var/lib/infra/etcd-tools/etcdutl',
} as const;

/** etcd answers on loopback on every control-plane host; the apiserver's client certificate reads it. */
export const REMOTE_ENDPOINT = `https://127.0.0.1:${ETCD_CLIENT_PORT}`;
export const REMOTE_TLS: EtcdClientTls = { caFile: pki('ca.crt'), certFile: pki('apiserver-etcd-client.crt'), keyFile: pki('apiserver-etcd-client.key') };

/** Stopped first to last before the data moves; started in reverse after. */
export const STOP_ORDER = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'] as const;

export function members(t: BinariesTopology): EtcdMember[] {
  return t.controlPlanes.map((h) => ({ name: h.name, peerUrl: `https://${h.address}:${ETCD_PEER_PORT}` }));
}

/** The token the etcd units of this cluster use (see host-files.ts), kept by a restore. */
export function clusterToken(t: BinariesTopology): string {
  return `infra-${t.cluster}`;
}

/** A read-only probe: the journal (if any), then one line per directory, 1 when it exists. */
export const PROBE_SCRIPT = 'cat "$1" 2>/dev/null; echo; for d in "$2" "$3" "$4"; do if [ -d "$d" ]; then echo 1; else echo 0; fi; done';
export const PROBE_ARGS = [REMOTE_PATHS.journal, REMOTE_PATHS.data, REMOTE_PATHS.fresh, REMOTE_PATHS.old];

export interface MemberState {
  readonly host: string;
  readonly journal: RestoreJournal | undefined;
  readonly dirs: DataDirs;
}

export function parseProbe(host: string, stdout: string): MemberState {
  const lines = stdout.replace(/\n+$/, '').split('\n');
  const flags = lines.slice(-3).map((l) => l.trim() === '1');
  const journalText = lines.slice(0, -3).join('\n').trim();
  return { host, journal: journalText ? parseJournal(journalText) : undefined, dirs: { data: flags[0] ?? false, fresh: flags[1] ?? false, old: flags[2] ?? false } };
}

export interface ClusterRepair {
  readonly decision: 'none' | 'rollback' | 'forward';
  readonly steps: ReadonlyMap<string, readonly RepairStep[]>;
  readonly says: string | undefined;
}

const ORDER: Record<RestoreJournal['phase'], number> = { restoring: 0, restored: 1, swapped: 2 };

/**
 * What every member does before a new restore or a start. Forward when any member swapped
 * (all had complete data by then) or every member is at least `restored`; back otherwise —
 * no member moved its data before all were `restored`, so rolling back loses nothing.
 */
export function clusterRepairPlan(states: readonly MemberState[]): ClusterRepair {
  const withJournal = states.filter((s) => s.journal);
  if (withJournal.length === 0) {
    const steps = new Map(states.map((s) => [s.host, repairPlan(undefined, s.dirs).steps] as const));
    return { decision: 'none', steps, says: [...steps.values()].some((x) => x.length > 0) ? 'removed half-written restores without a journal' : undefined };
  }
  const anySwapped = withJournal.some((s) => s.journal?.phase === 'swapped');
  const allRestored = states.every((s) => s.journal && ORDER[s.journal.phase] >= ORDER.restored);
  const first = withJournal[0]?.journal as RestoreJournal;
  if (anySwapped || allRestored) {
    const steps = new Map(
      states.map((s) => {
        // A member without a journal while another swapped cannot happen by the order of steps; it keeps its data.
        const plan = s.journal ? repairPlan(s.journal, s.dirs).steps : [];
        return [s.host, plan] as const;
      }),
    );
    const acting = [...steps.values()].some((x) => x.length > 0);
    return { decision: 'forward', steps, says: acting ? `finished the interrupted restore of ${first.snapshot} on every member` : undefined };
  }
  const steps = new Map(states.map((s) => [s.host, s.journal || s.dirs.fresh ? (['remove-fresh', 'remove-journal'] as RepairStep[]) : []] as const));
  return { decision: 'rollback', steps, says: `rolled back the interrupted restore of ${first.snapshot}: not every member had its restored data complete; the cluster keeps its data from before` };
}
