/** The types the pipeline steps talk through: source → render → place → apply → inventory → prune → health → status. */

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Where a manifest came from, for errors that point at a file and line. */
export interface Origin {
  readonly file: string;
  readonly line?: number;
  /** Lines (in `file`) of the strings that hold variables, by JSON pointer: errors point at the string, not the document. */
  readonly lines?: Readonly<Record<string, number>>;
}

export interface Manifest {
  readonly object: KubeObject;
  readonly origin: Origin;
}

/** A checked-out commit of a source. */
export interface Revision {
  readonly source: string;
  readonly commit: string;
  /** Directory holding the tree at that commit. */
  readonly dir: string;
}

/** Identity of an object across revisions: group, kind, namespace, name (not version). */
export interface ObjectKey {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function keyOf(obj: KubeObject): string {
  return formatKey({ group: groupOf(obj.apiVersion), kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' });
}

export function formatKey(k: ObjectKey): string {
  return `${k.group}/${k.kind}/${k.namespace}/${k.name}`;
}

export function parseKey(key: string): ObjectKey {
  const [group = '', kind = '', namespace = '', ...rest] = key.split('/');
  return { group, kind, namespace, name: rest.join('/') };
}

/** `Kind namespace/name` for messages. */
export function describeObject(obj: KubeObject | ObjectKey): string {
  if ('metadata' in obj) {
    const ns = obj.metadata.namespace ? `${obj.metadata.namespace}/` : '';
    return `${obj.kind} ${ns}${obj.metadata.name ?? '?'}`;
  }
  return `${obj.kind} ${obj.namespace ? `${obj.namespace}/` : ''}${obj.name}`;
}

export type SyncState = 'Synced' | 'OutOfSync' | 'Failed';
export type HealthState = 'Healthy' | 'Progressing' | 'Degraded' | 'Unknown';

/** What went wrong, with a named reason like Flux's Ready condition. */
export interface StatusError {
  readonly reason:
    | 'SourceFailed'
    | 'RenderFailed'
    | 'ValidationFailed'
    | 'ApplyFailed'
    | 'PruneFailed'
    | 'PruneBlocked'
    | 'HealthCheckFailed'
    | 'ClusterUnreachable'
    | 'AdmissionWebhookFailed'
    | 'Forbidden'
    | 'KubeconfigInvalid'
    | 'StateCorrupt'
    | 'OwnedByOtherStack'
    | 'DependencyNotReady'
    | 'Conflict'
    | 'HookFailed';
  readonly message: string;
  /** file:line, or the object. */
  readonly where?: string;
}

export interface DriftedObject {
  readonly object: string;
  /** JSON pointers of the fields that differ from Git. */
  readonly fields: readonly string[];
}

export interface AppStatus {
  readonly app: string;
  readonly cluster: string;
  readonly revision: string;
  readonly sync: SyncState;
  readonly health: HealthState;
  readonly drifted: readonly DriftedObject[];
  readonly unhealthy: readonly string[];
  readonly objects: number;
  readonly error?: StatusError;
  readonly lastAppliedRevision?: string;
}
