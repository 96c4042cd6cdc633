/** What every command gets from the composition root. */
export interface RunContext {
  /** Aborted on SIGINT/SIGTERM: long operations stop at the next safe point. */
  readonly signal: AbortSignal;
  /** Said by a command for which SIGINT/SIGTERM is its normal end (`infra serve`): it then exits with its own code, not 130. */
  readonly stopsOnSignal: () => void;
}
