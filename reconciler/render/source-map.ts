import { readFile } from 'node:fs/promises';
import { join, normalize, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject, Manifest } from '../types.ts';
import type { ParsedDocument } from './yaml-files.ts';

/**
 * Maps objects rendered by kustomize or helm back to the files they came from, so an error
 * names `kz/base/cm.yaml:7` or `chart/templates/cm.yaml:9` instead of a line of rendered output.
 * Kustomize says where each object came from in the `config.kubernetes.io/origin` annotation
 * (asked for with `buildMetadata: [originAnnotations]`, removed here before anything is applied);
 * helm in a `# Source: <chart>/templates/x.yaml` comment before each document. Lines are found
 * in the source text: the document by its kind (and name), a variable by its text.
 */

export const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';

/** A rendered document and the source file it came from (repository-relative), if known. */
export interface SourcedDocument {
  readonly doc: ParsedDocument;
  readonly object: KubeObject;
  readonly source: string | undefined;
}

/** Helm: `Source: greeter/templates/cm.yaml` → `<chart folder>/templates/cm.yaml`. */
export function helmSource(comment: string | undefined, chartDir: string): string | undefined {
  const m = comment ? /Source:\s*(\S+)/.exec(comment) : null;
  if (!m?.[1]) return undefined;
  const rest = m[1].split('/').slice(1).join('/');
  return rest ? normalize(join(chartDir, rest)) : undefined;
}

/** Kustomize: the origin annotation's path (relative to the build root), as a repository path; the object without the annotation. */
export function kustomizeSource(object: KubeObject, buildRoot: string, repoRoot: string): { object: KubeObject; source: string | undefined } {
  const raw = object.metadata.annotations?.[ORIGIN_ANNOTATION];
  if (raw === undefined) return { object, source: undefined };
  const { [ORIGIN_ANNOTATION]: _, ...annotations } = object.metadata.annotations ?? {};
  const { annotations: __, ...metadata } = object.metadata;
  const stripped: KubeObject = { ...object, metadata: Object.keys(annotations).length > 0 ? { ...metadata, annotations } : metadata };
  let origin: { path?: unknown; configuredIn?: unknown; repo?: unknown } | undefined;
  try {
    origin = parse(raw) as typeof origin;
  } catch {
    origin = undefined;
  }
  const path = typeof origin?.path === 'string' ? origin.path : typeof origin?.configuredIn === 'string' ? origin.configuredIn : undefined;
  if (!path || origin?.repo) return { object: stripped, source: undefined };
  const source = relative(repoRoot, resolve(buildRoot, path));
  return { object: stripped, source: source.startsWith('..') ? undefined : source };
}

/** Manifests whose origin is the source file and line where known, else the rendered output (`fallback`:line). */
export async function mapToSources(docs: readonly SourcedDocument[], repoRoot: string, fallback: string): Promise<Manifest[]> {
  const texts = new Map<string, Promise<string | undefined>>();
  const textOf = (file: string) => {
    let t = texts.get(file);
    if (!t) texts.set(file, (t = readFile(join(repoRoot, file), 'utf8').catch(() => undefined)));
    return t;
  };
  const out: Manifest[] = [];
  for (const { doc, object, source } of docs) {
    const text = source ? await textOf(source) : undefined;
    if (!source || text === undefined) {
      const lines = doc.lines;
      out.push({ object, origin: { file: fallback, ...(doc.line === undefined ? {} : { line: doc.line }), ...(Object.keys(lines).length > 0 ? { lines } : {}) } });
      continue;
    }
    const sourceLines = text.split('\n');
    const line = documentLine(sourceLines, object);
    const lines: Record<string, number> = {};
    for (const pointer of Object.keys(doc.lines)) {
      const found = variableLine(sourceLines, valueAt(object, pointer) ?? keyAt(pointer));
      if (found !== undefined) lines[pointer] = found;
    }
    out.push({ object, origin: { file: source, ...(line === undefined ? {} : { line }), ...(Object.keys(lines).length > 0 ? { lines } : {}) } });
  }
  return out;
}

/** The line of the document that defines `object`: its `kind:` line (the one followed by its name when several), or its `apiVersion:` just before. */
export function documentLine(lines: readonly string[], object: KubeObject): number | undefined {
  const kinds: number[] = [];
  lines.forEach((l, i) => {
    if (new RegExp(`^kind:\\s*['"]?${escape(object.kind)}['"]?\\s*$`).test(l)) kinds.push(i);
  });
  let index = kinds.length === 1 ? kinds[0] : undefined;
  if (kinds.length > 1) {
    const name = object.metadata.name ?? '';
    index = kinds.find((k, j) => {
      const end = kinds[j + 1] ?? lines.length;
      return lines.slice(k, end).some((l) => {
        const m = /^\s+name:\s*['"]?([^'"#\s]+)['"]?\s*$/.exec(l);
        return !!m?.[1] && name.includes(m[1]);
      });
    });
  }
  if (index === undefined) return undefined;
  const before = lines[index - 1];
  return before !== undefined && /^apiVersion:/.test(before) ? index : index + 1;
}

/** The line holding the first `${var.*}`/`${cluster.*}` expression of `text`. */
export function variableLine(lines: readonly string[], text: string | undefined): number | undefined {
  const expr = text ? /\$\{\s*(?:var|cluster)\.[^}]*\}/.exec(text)?.[0] : undefined;
  if (!expr) return undefined;
  const i = lines.findIndex((l) => l.includes(expr));
  return i < 0 ? undefined : i + 1;
}

function valueAt(object: unknown, pointer: string): string | undefined {
  let cur: unknown = object;
  for (const seg of pointer.split('/').slice(1)) {
    const key = seg.replaceAll('~1', '/').replaceAll('~0', '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return typeof cur === 'string' ? cur : undefined;
}

function keyAt(pointer: string): string {
  return (pointer.split('/').pop() ?? '').replaceAll('~1', '/').replaceAll('~0', '~');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
