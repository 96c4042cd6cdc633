import { createHash } from 'node:crypto';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { privateDir } from '../../clusters/fs.ts';
import { canonicalJson } from '../apply/object-policy.ts';
import type { Manifest } from '../types.ts';

/**
 * Rendered manifests cached by the inputs of the render: a round whose inputs did not change
 * reads JSON instead of parsing YAML or running kustomize/helm again. Plain YAML and kustomize
 * are keyed by commit and folder; a Helm chart by its own content, values and the target's
 * capabilities, so a commit elsewhere in the repository reuses the same render — and the same
 * `randAlphaNum` names. Rendered Secrets live here: files are 0600 in 0700 folders.
 * A corrupt or missing entry just renders afresh.
 */

export function renderKey(inputs: unknown): string {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex').slice(0, 32);
}

const tightened = new Map<string, Promise<void>>();

export async function readRendered(cacheRoot: string, key: string): Promise<Manifest[] | undefined> {
  // Once per process: a cache an older version left readable to others is closed before it is used.
  let closed = tightened.get(cacheRoot);
  if (!closed) tightened.set(cacheRoot, (closed = privateDir(join(cacheRoot, 'render')).catch(() => undefined)));
  await closed;
  try {
    return JSON.parse(await readFile(join(cacheRoot, 'render', key.slice(0, 2), `${key}.json`), 'utf8')) as Manifest[];
  } catch {
    return undefined;
  }
}

export async function writeRendered(cacheRoot: string, key: string, manifests: readonly Manifest[]): Promise<void> {
  const dir = join(cacheRoot, 'render', key.slice(0, 2));
  await privateDir(join(cacheRoot, 'render'));
  await privateDir(dir);
  const tmp = join(dir, `${key}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(manifests), { mode: 0o600 });
  await rename(tmp, join(dir, `${key}.json`));
}

const digests = new Map<string, Promise<string>>();

/** A digest of every file under `dir` (names and bytes). Checkouts never change, so it is computed once per folder. */
export function contentDigest(dir: string): Promise<string> {
  let d = digests.get(dir);
  if (!d) {
    if (digests.size >= 1000) digests.clear();
    d = hashTree(dir);
    digests.set(dir, d);
    d.catch(() => digests.delete(dir));
  }
  return d;
}

async function hashTree(root: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const bytes = await readFile(p);
        hash.update(`${relative(root, p)}\0${bytes.length}\0`).update(bytes);
      }
    }
  };
  await walk(root);
  return hash.digest('hex');
}
