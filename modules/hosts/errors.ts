import { InfraError } from '../../stacks/errors.ts';

/**
 * Errors of the SSH layer. Three exit codes, one per kind of trouble: the host cannot be
 * reached (20), the host cannot be trusted or refuses us (21), a command on it failed (22).
 */

/** The host did not answer (refused, timed out, no route, a jump host could not forward). */
export class HostUnreachableError extends InfraError {
  readonly reason = 'HostUnreachable';
  override readonly exitCode = 20;
  readonly host: string;
  readonly step: string;
  constructor(host: string, step: string, detail: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`cannot reach ${host} during "${step}": ${detail}`, {
      where: `host ${host}`,
      hint: options.hint ?? 'check that the host is up, its address and port (ssh config HostName/Port) and any ProxyJump host',
      cause: options.cause,
    });
    this.host = host;
    this.step = step;
  }
}

/** The host presented a key other than the one known_hosts or the stack's state holds for it. */
export class HostKeyMismatchError extends InfraError {
  readonly reason = 'HostKeyMismatch';
  override readonly exitCode = 21;
  readonly host: string;
  readonly expectedFingerprint: string;
  readonly actualFingerprint: string;
  constructor(host: string, fingerprints: { expected: string; actual: string; source: string }) {
    super(
      `host key of ${host} changed: expected ${fingerprints.expected} (${fingerprints.source}), the host presented ${fingerprints.actual}; refused`,
      {
        where: `host ${host}`,
        hint: `if the host was reinstalled on purpose, remove its old key from ${fingerprints.source} (ssh-keygen -R for known_hosts) and run again; otherwise someone may be intercepting the connection`,
      },
    );
    this.host = host;
    this.expectedFingerprint = fingerprints.expected;
    this.actualFingerprint = fingerprints.actual;
  }
}

/** The host's key is in no known_hosts file and pinning on first use was not allowed. */
export class HostKeyUnknownError extends InfraError {
  readonly reason = 'HostKeyUnknown';
  override readonly exitCode = 21;
  readonly host: string;
  readonly fingerprint: string;
  constructor(host: string, fingerprint: string, lookupName: string, knownHostsFiles: readonly string[]) {
    const port = /^\[.*\]:(\d+)$/.exec(lookupName)?.[1];
    const bare = lookupName.replace(/^\[(.*)\]:\d+$/, '$1');
    super(`host key of ${host} (${fingerprint}) is not known`, {
      where: `host ${host}`,
      hint:
        `check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add it: ` +
        `ssh-keyscan ${port ? `-p ${port} ` : ''}${bare} >> ${knownHostsFiles[0] ?? '~/.ssh/known_hosts'}; ` +
        `or allow pinning the key on first use into the stack's state`,
    });
    this.host = host;
    this.fingerprint = fingerprint;
  }
}

/** No offered credential (agent, IdentityFile, default keys) was accepted. */
export class HostAuthenticationError extends InfraError {
  readonly reason = 'HostAuthentication';
  override readonly exitCode = 21;
  readonly host: string;
  constructor(host: string, user: string, tried: readonly string[], options: { cause?: unknown } = {}) {
    super(`${user}@${host} refused every credential offered (${tried.length ? tried.join(', ') : 'none found'})`, {
      where: `host ${host}`,
      hint: 'add the public key to ~/.ssh/authorized_keys of that user, or set User/IdentityFile in ~/.ssh/config, or start ssh-agent (SSH_AUTH_SOCK)',
      cause: options.cause,
    });
    this.host = host;
  }
}

/** A command ran on the host and exited non-zero (or was killed by a signal). */
export class HostCommandError extends InfraError {
  readonly reason: string = 'HostCommandFailed';
  override readonly exitCode = 22;
  readonly host: string;
  readonly step: string;
  readonly command: string;
  readonly code: number | null;
  readonly stderrTail: readonly string[];
  constructor(
    d: { host: string; step: string; command: string; code: number | null; signal?: string; stderrTail: readonly string[] },
    options: { message?: string; hint?: string } = {},
  ) {
    const how = d.code === null ? `was killed (${d.signal ?? 'no exit status'})` : `exited ${d.code}`;
    const tail = d.stderrTail.length ? `: ${d.stderrTail.join(' | ')}` : '';
    super(options.message ?? `step "${d.step}": \`${d.command}\` ${how}${tail}`, {
      where: `host ${d.host}`,
      hint: options.hint ?? 'fix the cause on the host (see the stderr lines) and run again; finished steps are skipped',
    });
    this.host = d.host;
    this.step = d.step;
    this.command = d.command;
    this.code = d.code;
    this.stderrTail = d.stderrTail;
  }
}

/** The user is not root and `sudo -n` is refused (not in sudoers, or sudo wants a password). */
export class SudoRequiredError extends HostCommandError {
  override readonly reason = 'SudoRequired';
  readonly user: string;
  constructor(d: { host: string; user: string; step: string; command: string; stderrTail: readonly string[] }) {
    super(
      { ...d, code: 1 },
      {
        message: `step "${d.step}" needs root, but ${d.user} cannot sudo without a password (sudo -n) to run \`${d.command}\``,
        hint: `give ${d.user} passwordless sudo on that host (e.g. "${d.user} ALL=(ALL) NOPASSWD:ALL" in /etc/sudoers.d/), or connect as root`,
      },
    );
    this.user = d.user;
  }
}

/** An upload arrived with another SHA-256 than the local content's; the temp file was removed. */
export class UploadChecksumError extends HostCommandError {
  override readonly reason = 'UploadChecksum';
  constructor(d: { host: string; step: string; remotePath: string; expected: string; actual: string }) {
    super(
      { host: d.host, step: d.step, command: `upload ${d.remotePath}`, code: null, stderrTail: [] },
      {
        message: `upload of ${d.remotePath} arrived corrupt: expected sha256 ${d.expected}, the host computed ${d.actual}; nothing was replaced`,
        hint: 'run again; if it repeats, check the host disk (full?) and the network path',
      },
    );
  }
}
