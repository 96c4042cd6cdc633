import { InfraError } from '../stacks/errors.ts';

/** Fetching or checking out a Git source failed. */
export class SourceError extends InfraError {
  readonly reason = 'SourceFailed';
  override readonly exitCode = 10;
}

/** A revision could not be turned into manifests (bad YAML, failed kustomize/helm, unknown variable). */
export class RenderError extends InfraError {
  readonly reason = 'RenderFailed';
  override readonly exitCode = 11;
}
