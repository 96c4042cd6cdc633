import { InfraError } from '../../stacks/errors.ts';

/** A resource quantity on a node or pod that is not Kubernetes quantity syntax. */
export class QuantityFormatError extends InfraError {
  readonly reason = 'QuantityFormat';
  override readonly exitCode = 16;
}

/** The health store could not be read or written (management cluster or local file). */
export class HealthStoreError extends InfraError {
  readonly reason = 'HealthStore';
  override readonly exitCode = 16;
}
