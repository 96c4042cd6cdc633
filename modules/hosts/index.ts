/** The SSH layer: connect to hosts as ~/.ssh/config says, run and upload with checks and typed errors. */
export { connectHost, type ConnectOptions, type HostKeyOptions } from './connect.ts';
export { HostSession, type RemoteHost, type RunOptions, type RunResult, type UploadOptions, type UploadResult } from './session.ts';
export {
  HostAuthenticationError,
  HostCommandError,
  HostKeyMismatchError,
  HostKeyUnknownError,
  HostUnreachableError,
  SudoRequiredError,
  UploadChecksumError,
} from './errors.ts';
export type { HostKeyPin } from './host-key-policy.ts';
export { formatHostLine, type HostLine, type HostLineSink } from './host-lines.ts';
export { DEFAULT_HOST_PARALLELISM, forEachHost, HostParallelism, type HostOutcome } from './parallelism.ts';
export { shellJoin, shellQuote, type HostCommand } from './shell-quote.ts';
export { fingerprintOf } from './known-hosts.ts';
export type { HostTarget } from './ssh-config.ts';
