import { InfraError } from '../stacks/errors.ts';

/** A pinned binary (etcd, kube-apiserver, kwok, ...) could not be found or built. */
export class BinaryUnavailableError extends InfraError {
  readonly reason = 'BinaryUnavailable';
  override readonly exitCode = 3;
}

/**
 * A downloaded release artifact does not match the SHA-256 published beside it. Never
 * used, never silently replaced by a build: the mirror or the transfer is corrupt or tampered with.
 */
export class ChecksumMismatchError extends InfraError {
  readonly reason = 'ChecksumMismatch';
  override readonly exitCode = 3;
  readonly expected: string;
  readonly actual: string;
  constructor(message: string, sums: { expected: string; actual: string }, options: { where?: string; hint?: string } = {}) {
    super(message, options);
    this.expected = sums.expected;
    this.actual = sums.actual;
  }
}

/** A local cluster's on-disk state is missing, foreign or corrupt. */
export class LocalClusterStateError extends InfraError {
  readonly reason = 'LocalClusterState';
  override readonly exitCode = 4;
}

/** No local cluster of that name exists. */
export class LocalClusterNotFoundError extends InfraError {
  readonly reason = 'LocalClusterNotFound';
  override readonly exitCode = 4;
}

/** A TCP port we must listen on is taken by another process. */
export class PortInUseError extends InfraError {
  readonly reason = 'PortInUse';
  override readonly exitCode = 5;
}

/** A control-plane process exited or never became ready. */
export class ComponentFailedError extends InfraError {
  readonly reason = 'ComponentFailed';
  override readonly exitCode = 6;
}

/** Another infra process holds the lock on this resource. */
export class LockHeldError extends InfraError {
  readonly reason = 'LockHeld';
  override readonly exitCode = 7;
}

/** The Kubernetes API answered with an error status for one request. */
export class KubeApiError extends InfraError {
  readonly reason: string = 'KubeApiError';
  override readonly exitCode = 8;
  readonly status: number;
  /** The Status `reason` (NotFound, Conflict, Invalid, ...). */
  readonly apiReason: string;
  readonly cluster: string;
  constructor(cluster: string, status: number, apiReason: string, message: string, where?: string) {
    super(message, { where: where ?? `cluster ${cluster}` });
    this.status = status;
    this.apiReason = apiReason;
    this.cluster = cluster;
  }
}

/** A cluster's API could not be reached (refused, reset, timed out, TLS failure). */
export class ClusterUnreachableError extends InfraError {
  readonly reason = 'ClusterUnreachable';
  override readonly exitCode = 9;
  readonly cluster: string;
  constructor(cluster: string, message: string, cause?: unknown) {
    super(message, { where: `cluster ${cluster}`, hint: 'check that its apiserver runs; infra retries with backoff', cause });
    this.cluster = cluster;
  }
}

/**
 * An admission webhook the apiserver had to call could not be reached or did not answer
 * ("failed calling webhook"): the object and the cluster are fine, the webhook's backend is not.
 * Transient: retried with backoff, like an outage, but named for what it is.
 */
export class AdmissionWebhookError extends KubeApiError {
  override readonly reason: string = 'AdmissionWebhookFailed';
  /** The webhook's name, as the apiserver reported it. */
  readonly webhook: string;
  /** The object the request was for (`Kind namespace/name`), when the caller knows it. */
  readonly object: string | undefined;
  constructor(cluster: string, status: number, apiReason: string, message: string, object?: string) {
    super(cluster, status, apiReason, message, object ? `cluster ${cluster}: ${object}` : undefined);
    this.object = object;
    this.webhook = /failed calling webhook "([^"]+)"/.exec(message)?.[1] ?? 'unknown';
  }

  /** The same failure, naming the object it was for. */
  about(object: string): AdmissionWebhookError {
    return new AdmissionWebhookError(this.cluster, this.status, this.apiReason, this.message, object);
  }
}

/** A kubeconfig that is missing or cannot be used (bad YAML, no context, no server, unreadable files). */
export class KubeconfigInvalidError extends InfraError {
  readonly reason = 'KubeconfigInvalid';
  override readonly exitCode = 15;
  readonly cluster: string;
  readonly path: string;
  constructor(cluster: string, path: string, why: string) {
    super(`kubeconfig ${path}: ${why}`, { where: `cluster ${cluster}`, hint: `fix the file or the cluster's kubeconfig path in the stack (for an infra local cluster: infra local up ${cluster})` });
    this.cluster = cluster;
    this.path = path;
  }
}

/** A local cluster was made with other versions than infra pins now, and will not start on them silently. */
export class PinnedVersionsChangedError extends InfraError {
  readonly reason = 'PinnedVersionsChanged';
  override readonly exitCode = 14;
}

/** etcdctl or etcdutl failed while saving or restoring an etcd snapshot (its stderr is in the message). */
export class EtcdSnapshotError extends InfraError {
  readonly reason = 'EtcdSnapshotFailed';
  override readonly exitCode = 30;
}

/** A snapshot file to restore is missing, has no checksum, or does not match it: nothing was changed. */
export class SnapshotInvalidError extends InfraError {
  readonly reason = 'SnapshotInvalid';
  override readonly exitCode = 31;
}
