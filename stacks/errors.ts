/**
 * The root of every error infra raises on purpose. Each carries what failed (`message`),
 * where (`where`: a file:line, cluster, host or object) and what to do (`hint`), so the CLI
 * can print one actionable line and map the class to an exit code. It lives in `stacks/`
 * because every other layer may import `stacks/`.
 */
export abstract class InfraError extends Error {
  /** Short machine-readable reason, e.g. `BinaryUnavailable`. */
  abstract readonly reason: string;
  /** Process exit code the CLI uses for this class of failure. */
  readonly exitCode: number = 1;
  readonly where: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, options: { where?: string; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.where = options.where;
    this.hint = options.hint;
  }

  /** One line: `where: message — hint`. */
  oneLine(): string {
    const at = this.where ? `${this.where}: ` : '';
    const fix = this.hint ? ` — ${this.hint}` : '';
    return `${at}${this.message}${fix}`;
  }
}

/** The user asked for something that does not exist or cannot be (bad name, bad flag value). */
export class UsageError extends InfraError {
  readonly reason = 'Usage';
  override readonly exitCode = 2;
}

/**
 * The user stopped infra (Ctrl-C, SIGTERM): long operations end at their next safe point by
 * raising this (the abort reason of the run's AbortSignal). Exit 130, like a shell.
 */
export class AbortError extends InfraError {
  readonly reason = 'Interrupted';
  override readonly exitCode = 130;
}

/**
 * True for any way an aborted operation ends: our AbortError, a DOM `AbortError` (fetch,
 * timers), a plain `Error('interrupted')` or any error raised once `signal` was aborted, also
 * when it wraps one of those as its `cause`.
 */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof AbortError || e.name === 'AbortError' || /^interrupted\b/i.test(e.message)) return true;
  }
  return false;
}
