/**
 * POSIX shell quoting for the command line ssh hands to the remote shell: every argument in
 * single quotes (a `'` inside becomes `'\''`), plain words left bare so logs stay readable.
 */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** What to run on a host: an argument vector, or a fixed script of ours with quoted arguments. */
export type HostCommand = readonly string[] | { readonly script: string; readonly args?: readonly string[] };

/**
 * The remote command line. A script runs as `sh -c <script> sh <args...>`, so its arguments
 * arrive as "$1", "$2"... and are never parsed as shell code. `sudo -n` never prompts.
 */
export function commandLine(command: HostCommand, sudo: boolean): string {
  const argv = 'script' in command ? ['sh', '-c', command.script, 'sh', ...(command.args ?? [])] : [...command];
  return shellJoin(sudo ? ['sudo', '-n', '--', ...argv] : argv);
}

/** A short form for messages and logs: the argv, or the script's first line. */
export function describeCommand(command: HostCommand): string {
  if (!('script' in command)) return shellJoin(command);
  const firstLine = command.script.trim().split('\n')[0] ?? '';
  return `sh -c ${shellQuote(firstLine.length > 60 ? `${firstLine.slice(0, 57)}...` : firstLine)}${command.args?.length ? ` ${shellJoin(command.args)}` : ''}`;
}
