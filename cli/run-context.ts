/** What every command gets from the composition root. */
export interface RunContext {
  /** Aborted on SIGINT/SIGTERM: long operations stop at the next safe point. */
  readonly signal: AbortSignal;
}
