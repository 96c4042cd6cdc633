import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from 'yaml';
import { RenderError } from '../errors.ts';
import type { KubeObject, Manifest } from '../types.ts';
import { hasVariable, pointerSegment } from './variables.ts';

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
  return parseDocuments(text, file).map(({ object, line, lines }) => ({
    object,
    origin: { file, ...(line === undefined ? {} : { line }), ...(Object.keys(lines).length > 0 ? { lines } : {}) },
  }));
}

/** One object of a YAML stream: where its document starts, the comment before it, and the lines of its strings with variables. */
export interface ParsedDocument {
  readonly object: KubeObject;
  readonly line: number | undefined;
  readonly comment: string | undefined;
  /** JSON pointer → line, for strings that hold `${var.*}` / `${cluster.*}`. */
  readonly lines: Record<string, number>;
}

export function parseDocuments(text: string, file: string): ParsedDocument[] {
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter, uniqueKeys: true });
  if (!Array.isArray(docs)) return [];
  const out: ParsedDocument[] = [];
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const line = counter.linePos(error.pos[0]).line;
      throw new RenderError(`invalid YAML: ${error.message.split('\n')[0]}`, { where: `${file}:${line}`, hint: 'fix the file and commit again; nothing was applied' });
    }
    const line = doc.contents?.range ? counter.linePos(doc.contents.range[0]).line : undefined;
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) continue;
    const lines: Record<string, number> = {};
    if (doc.contents) variableLines(doc.contents, '', { text, counter }, lines);
    const comment = doc.commentBefore ?? (doc.contents as { commentBefore?: string | null } | null)?.commentBefore ?? undefined;
    const objects = flattenLists(value, file, line);
    const isList = objects.length !== 1 || objects[0] !== value;
    objects.forEach((object, i) => {
      out.push({ object, line, comment, lines: isList ? rebase(lines, `/items/${i}`) : lines });
    });
  }
  return out;
}

/** The line of each string with a variable: where its first variable is (inside a block scalar too), else where the string starts. */
function variableLines(node: Node, pointer: string, source: { text: string; counter: LineCounter }, into: Record<string, number>): void {
  if (isScalar(node)) {
    if (typeof node.value !== 'string' || !hasVariable(node.value) || !node.range) return;
    const expr = VARIABLE.exec(node.value)?.[0];
    const at = expr ? source.text.indexOf(expr, node.range[0]) : -1;
    const offset = at >= 0 && at < node.range[1] ? at : node.range[0];
    into[pointer] = source.counter.linePos(offset).line;
  } else if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const p = `${pointer}/${pointerSegment(String(pair.key.value))}`;
      variableLines(pair.key, p, source, into);
      if (pair.value) variableLines(pair.value as Node, p, source, into);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => variableLines(item as Node, `${pointer}/${i}`, source, into));
  }
}

const VARIABLE = /\$\{\s*(?:var|cluster)\.[^}]*\}/;

function rebase(lines: Record<string, number>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [p, l] of Object.entries(lines)) if (p.startsWith(`${prefix}/`)) out[p.slice(prefix.length)] = l;
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
