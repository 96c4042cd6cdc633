import { PREFIX } from '../../stacks/gitops.ts';
import { RenderError } from '../errors.ts';
import type { KubeObject, Manifest } from '../types.ts';

/**
 * Per-cluster variables in string values (after parsing, so a value can never inject YAML).
 * Only infra's own namespaces are read: `${var.KEY}`, `${cluster.name}`, `${cluster.labels.KEY}`.
 * Anything else — a shell script's `${1}` or `$HOME`, a dashboard's `${datasource}` — is left
 * byte for byte. `$${var.x}` is the escape for a literal `${var.x}`. An object annotated
 * `infra.dev/substitute: disabled` is left alone, and so is every object of an app with
 * `substitute: false`. An unknown variable is an error naming the file and the line of the
 * string that holds it, never a silent empty string.
 */

export interface VariableScope {
  readonly cluster: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  readonly vars: Readonly<Record<string, string>>;
}

export const SUBSTITUTE_ANNOTATION = `${PREFIX}/substitute`;

/** `${...}` or `$${...}` whose body names one of our namespaces. */
const PATTERN = /\$(\$?)\{(\s*(?:var|cluster)\.[^}]*)\}/g;
const MARKER = /\$\{\s*(?:var|cluster)\./;

/** True if a string holds something substitution would touch (used to remember its line). */
export function hasVariable(text: string): boolean {
  return MARKER.test(text);
}

export function lookup(scope: VariableScope, name: string): string | undefined {
  if (name === 'cluster.name') return scope.cluster.name;
  if (name.startsWith('cluster.labels.')) return scope.cluster.labels[name.slice('cluster.labels.'.length)];
  if (name.startsWith('var.')) return Object.hasOwn(scope.vars, name.slice(4)) ? scope.vars[name.slice(4)] : undefined;
  return undefined;
}

export function substituteString(text: string, scope: VariableScope, where: string): string {
  if (!text.includes('${')) return text;
  return text.replace(PATTERN, (whole, escape: string, name: string) => {
    if (escape) return whole.slice(1);
    const value = lookup(scope, name.trim());
    if (value === undefined) {
      throw new RenderError(`unknown variable \${${name}}`, {
        where,
        hint: 'use ${cluster.name}, ${cluster.labels.KEY} or ${var.KEY} with KEY set in the app\'s variables or clusterVariables; write $${...} for a literal, or annotate the object infra.dev/substitute: disabled',
      });
    }
    return value;
  });
}

/** RFC 6901 pointer segment. */
export function pointerSegment(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

function substituteValue(value: unknown, scope: VariableScope, pointer: string, whereOf: (pointer: string) => string): unknown {
  if (typeof value === 'string') return value.includes('${') ? substituteString(value, scope, whereOf(pointer)) : value;
  if (Array.isArray(value)) return value.map((v, i) => substituteValue(v, scope, `${pointer}/${i}`, whereOf));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const p = `${pointer}/${pointerSegment(k)}`;
      out[k.includes('${') ? substituteString(k, scope, whereOf(p)) : k] = substituteValue(v, scope, p, whereOf);
    }
    return out;
  }
  return value;
}

export function substituteManifests(manifests: readonly Manifest[], scope: VariableScope, options: { enabled?: boolean } = {}): Manifest[] {
  if (options.enabled === false) return [...manifests];
  return manifests.map((m) => {
    if (m.object.metadata.annotations?.[SUBSTITUTE_ANNOTATION] === 'disabled') return m;
    const whereOf = (pointer: string) => {
      const line = m.origin.lines?.[pointer] ?? m.origin.line;
      return line === undefined ? m.origin.file : `${m.origin.file}:${line}`;
    };
    return { origin: m.origin, object: substituteValue(m.object, scope, '', whereOf) as KubeObject };
  });
}
