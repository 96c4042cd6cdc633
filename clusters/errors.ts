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
