import { InfraError } from '../stacks/errors.ts';

/** A pinned binary (etcd, kube-apiserver, kwok, ...) could not be found or built. */
export class BinaryUnavailableError extends InfraError {
  readonly reason = 'BinaryUnavailable';
  override readonly exitCode = 3;
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
  readonly reason = 'KubeApiError';
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

/** A local cluster was made with other versions than infra pins now, and will not start on them silently. */
export class PinnedVersionsChangedError extends InfraError {
  readonly reason = 'PinnedVersionsChanged';
  override readonly exitCode = 14;
}
