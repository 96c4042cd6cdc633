import { glob } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { UsageError } from '../../stacks/errors.ts';
import { readOptional } from '../../clusters/fs.ts';

const MAX_INCLUDE_DEPTH = 16;


/**
 * The text of a user's ssh config with its `Include` lines replaced by the files they name
 * (globs sorted, relative paths under ~/.ssh, as ssh reads them). Inlined in place: an Include
 * inside a Host block applies to that block, as in ssh.
 */
export async function readSshConfig(path: string, home: string, depth = 0): Promise<string> {
  if (depth > MAX_INCLUDE_DEPTH) throw new UsageError(`ssh config Include nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)`, { where: path });
  const text = await readOptional(path);
  if (text === undefined) return '';
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*include\s*(?:=\s*|\s)(.+)$/i.exec(line);
    if (!m?.[1]) {
      out.push(line);
      continue;
    }
    for (const raw of m[1].trim().split(/\s+/)) {
      const unquoted = raw.replace(/^"(.*)"$/, '$1');
      const expanded = unquoted.startsWith('~/') ? join(home, unquoted.slice(2)) : unquoted;
      const pattern = isAbsolute(expanded) ? expanded : join(home, '.ssh', expanded);
      const files: string[] = [];
      for await (const f of glob(pattern)) files.push(f);
      for (const f of files.sort()) out.push(await readSshConfig(f, home, depth + 1));
    }
  }
  return out.join('\n');
}
