import { InfraError } from '../../stacks/errors.ts';

/** Another replica wrote the app's placement state first: re-read and decide again. */
export class PlacementConflictError extends InfraError {
  readonly reason = 'PlacementConflict';
  override readonly exitCode = 1;
}

/** The stored placement state of an app cannot be read (not JSON, wrong shape). */
export class PlacementStateCorruptError extends InfraError {
  readonly reason = 'PlacementStateCorrupt';
  override readonly exitCode = 1;
}
