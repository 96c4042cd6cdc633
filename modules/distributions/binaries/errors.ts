import { InfraError } from '../../../stacks/errors.ts';

/** A host of a `binaries` cluster did not reach the wanted state: names host and step. */
export class HostStepError extends InfraError {
  readonly reason = 'HostStepFailed';
  override readonly exitCode = 25;
  readonly host: string;
  readonly step: string;
  constructor(host: string, step: string, what: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`step "${step}" failed: ${what}`, { where: `host ${host}`, hint: options.hint ?? 'fix the cause on that host and run `infra up` again: finished steps are skipped', cause: options.cause });
    this.host = host;
    this.step = step;
  }
}

/** Several hosts failed in one run; the others finished. */
export class HostsFailedError extends InfraError {
  readonly reason = 'HostsFailed';
  override readonly exitCode = 25;
  readonly failures: readonly { host: string; message: string }[];
  constructor(cluster: string, failures: readonly { host: string; message: string }[], finished: readonly string[]) {
    super(`${failures.length} host(s) failed: ${failures.map((f) => `${f.host}: ${f.message}`).join('; ')}${finished.length ? `; finished: ${finished.join(', ')}` : ''}`, {
      where: `cluster ${cluster}`,
      hint: 'fix the named hosts and run `infra up` again: it resumes where it stopped',
    });
    this.failures = failures;
  }
}

/** Removing a control-plane host would remove the last etcd member or lose the majority. */
export class QuorumRefusedError extends InfraError {
  readonly reason = 'QuorumRefused';
  override readonly exitCode = 26;
}

/** A rolling upgrade stopped at a node that did not come back Ready. */
export class RollStoppedError extends InfraError {
  readonly reason = 'RollStopped';
  override readonly exitCode = 25;
}
