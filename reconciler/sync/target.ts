import type { ResourceInfo } from '../../clusters/discovery.ts';
import type { KubeClient } from '../../clusters/kube-client.ts';
import type { AppSpec, ClusterSpec } from '../../stacks/gitops.ts';
import type { ClusterApplier } from '../apply/cluster-applier.ts';
import type { Journal } from './journal.ts';
import type { ClusterRound } from './round-cache.ts';
import type { Stage } from '../apply/object-policy.ts';
import type { AppRecord } from '../status/app-record.ts';
import type { KubeObject, Manifest, StatusError } from '../types.ts';

/** The types the prepare and commit halves of a sync share. */

export interface ClusterTarget {
  readonly spec: ClusterSpec;
  readonly client: KubeClient;
  readonly applier: ClusterApplier;
  /** Reads shared by every app in this round. */
  readonly round: ClusterRound;
  /** Notes of objects about to be created, written for many apps at once (crash safety). */
  readonly journal: Journal;
}

export type Change = 'unchanged' | 'apply' | 'drifted' | 'skip';

export interface PlannedObject {
  readonly manifest: Manifest;
  /** As applied: ownership label, defaulted namespace. */
  readonly object: KubeObject;
  readonly key: string;
  readonly digest: string;
  /** Undefined while its CRD is not installed yet (deferred to after stage 0). */
  readonly info: ResourceInfo | undefined;
  readonly stage: Stage;
  readonly change: Change;
  readonly drift: readonly string[];
  readonly liveRv?: string;
}

export interface PreparedSync {
  readonly app: AppSpec;
  readonly cluster: ClusterTarget;
  readonly revision: string;
  readonly record: AppRecord;
  readonly objects: readonly PlannedObject[];
  /** Keys of objects owned by this app that live in the cluster, with their labels/annotations. */
  readonly liveOwned: ReadonlyMap<string, { rv?: string; annotations?: Record<string, string> }>;
}

/** A problem with the revision itself: the same everywhere, so it stops the app on every cluster. */
export class ContentError extends Error {
  readonly status: StatusError;
  constructor(status: StatusError) {
    super(status.where ? `${status.where}: ${status.message}` : status.message);
    this.status = status;
  }
}

/**
 * A problem on one cluster only (live fields that do not merge, a 403, a corrupt record): it is
 * recorded on that cluster and the app goes on everywhere else.
 */
export class ClusterError extends Error {
  readonly status: StatusError;
  constructor(status: StatusError) {
    super(status.where ? `${status.where}: ${status.message}` : status.message);
    this.status = status;
  }
}

export function where(m: Manifest): string {
  return m.origin.line === undefined ? m.origin.file : `${m.origin.file}:${m.origin.line}`;
}
