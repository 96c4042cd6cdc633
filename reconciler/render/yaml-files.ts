import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { RenderError } from '../errors.ts';
import type { KubeObject, Manifest } from '../types.ts';

/**
 * Plain YAML: every .yaml/.yml/.json file under a folder (recursively, in name order),
 * multi-document, each object remembering its file and line.
 */

export async function manifestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && /\.(ya?ml|json)$/i.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out;
}

export async function renderYamlFolder(dir: string, repoRoot: string): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const file of await manifestFiles(dir)) {
    out.push(...parseManifests(await readFile(file, 'utf8'), relative(repoRoot, file)));
  }
  return out;
}

/** Parses multi-document YAML into manifests; throws a RenderError naming file and line. */
export function parseManifests(text: string, file: string): Manifest[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true });
  if (!Array.isArray(docs)) return [];
  const out: Manifest[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const line = lines.linePos(error.pos[0]).line;
      throw new RenderError(`invalid YAML: ${error.message.split('\n')[0]}`, { where: `${file}:${line}`, hint: 'fix the file and commit again; nothing was applied' });
    }
    const line = doc.contents?.range ? lines.linePos(doc.contents.range[0]).line : undefined;
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) continue;
    for (const object of flattenLists(value, file, line)) {
      out.push({ object, origin: { file, ...(line === undefined ? {} : { line }) } });
    }
  }
  return out;
}

function flattenLists(value: unknown, file: string, line: number | undefined): KubeObject[] {
  const where = line === undefined ? file : `${file}:${line}`;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new RenderError('expected a Kubernetes object (a mapping with apiVersion and kind)', { where });
  }
  const obj = value as Partial<KubeObject> & { items?: unknown[] };
  if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
    return obj.items.flatMap((item) => flattenLists(item, file, line));
  }
  if (typeof obj.apiVersion !== 'string' || !obj.apiVersion || typeof obj.kind !== 'string' || !obj.kind) {
    throw new RenderError('object has no apiVersion or kind', { where });
  }
  if (typeof obj.metadata !== 'object' || obj.metadata === null || typeof obj.metadata.name !== 'string' || !obj.metadata.name) {
    throw new RenderError(`${obj.kind} has no metadata.name`, { where });
  }
  return [obj as KubeObject];
}
