import { InfraError } from '../../stacks/errors.ts';

/** A source's webhook secret cannot be read (missing file or variable, empty value). */
export class WebhookSecretError extends InfraError {
  readonly reason = 'WebhookSecretUnavailable';
  override readonly exitCode = 2;
}
