import { RenderError } from '../errors.ts';
import type { KubeObject, Manifest } from '../types.ts';

/**
 * Per-cluster variables: `${cluster.name}`, `${cluster.labels.<key>}` and `${var.<key>}` in
 * string values (after parsing, so a value can never inject YAML). `$${...}` stays literal.
 * An unknown variable is an error that names the file, not a silent empty string.
 */

export interface VariableScope {
  readonly cluster: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  readonly vars: Readonly<Record<string, string>>;
}

const PATTERN = /\$(\$?)\{([^}]*)\}/g;

export function lookup(scope: VariableScope, name: string): string | undefined {
  if (name === 'cluster.name') return scope.cluster.name;
  if (name.startsWith('cluster.labels.')) return scope.cluster.labels[name.slice('cluster.labels.'.length)];
  if (name.startsWith('var.')) return scope.vars[name.slice(4)];
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
        hint: 'use ${cluster.name}, ${cluster.labels.KEY} or ${var.KEY} with KEY set in the app\'s variables or clusterVariables',
      });
    }
    return value;
  });
}

function substituteValue(value: unknown, scope: VariableScope, where: string): unknown {
  if (typeof value === 'string') return substituteString(value, scope, where);
  if (Array.isArray(value)) return value.map((v) => substituteValue(v, scope, where));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[substituteString(k, scope, where)] = substituteValue(v, scope, where);
    return out;
  }
  return value;
}

export function substituteManifests(manifests: readonly Manifest[], scope: VariableScope): Manifest[] {
  return manifests.map((m) => {
    const where = m.origin.line === undefined ? m.origin.file : `${m.origin.file}:${m.origin.line}`;
    return { origin: m.origin, object: substituteValue(m.object, scope, where) as KubeObject };
  });
}
