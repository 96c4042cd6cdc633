import { InfraError } from '../../stacks/errors.ts';

/** The SSH test-host harness could not make, reach or remove a host (names the host or slot and the step). */
export class TestHostsError extends InfraError {
  readonly reason = 'TestHosts';
  override readonly exitCode = 1;
}
