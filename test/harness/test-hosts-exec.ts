import { runCommand, tail } from '../../clusters/host/command.ts';
import { TestHostsError } from './test-hosts-errors.ts';

/** Runs a system tool (ip, mount, ssh-keygen, nsenter) and fails with its stderr if it fails. */
export async function must(file: string, args: readonly string[], where: string, signal?: AbortSignal): Promise<string> {
  const r = await runCommand(file, args, signal ? { signal } : {});
  if (r.code !== 0) {
    throw new TestHostsError(`${file} ${args.join(' ')} failed (exit ${r.code}): ${tail(r.stderr || r.stdout, 3)}`, { where });
  }
  return r.stdout;
}

/** Runs a cleanup step whose failure only means "already gone". */
export async function attempt(file: string, args: readonly string[]): Promise<boolean> {
  const r = await runCommand(file, args);
  return r.code === 0;
}
