import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathExists } from '../clusters/fs.ts';

/**
 * Which stack a command works on when `-f` is not given: the `stack.yaml` that `infra init`
 * wrote here, else `stacks/local.yaml` here, else the embedded default shipped with infra.
 */
export const EMBEDDED_STACK = fileURLToPath(new URL('../stacks/local.yaml', import.meta.url));
export const INIT_MARKER = '# Written by `infra init`';

export async function defaultStackFile(cwd: string = process.cwd()): Promise<string> {
  const written = join(cwd, 'stack.yaml');
  if ((await pathExists(written)) && (await readFile(written, 'utf8')).startsWith(INIT_MARKER)) return written;
  const local = join(cwd, 'stacks', 'local.yaml');
  if (await pathExists(local)) return local;
  return EMBEDDED_STACK;
}

export async function stackFileFrom(opts: { file?: string }): Promise<string> {
  return opts.file ?? (await defaultStackFile());
}
