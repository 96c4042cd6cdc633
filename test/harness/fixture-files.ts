import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** The files of a folder under test/fixtures/, keyed by their path below it with `prefix` in front, for GitFixture.commit. */
export async function fixtureFiles(folder: string, prefix = ''): Promise<Record<string, string>> {
  const root = join(import.meta.dirname, '..', 'fixtures', folder);
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out[join(prefix, relative(root, p))] = await readFile(p, 'utf8');
    }
  };
  await walk(root);
  return out;
}
