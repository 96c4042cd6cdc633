import { InfraError } from '../stacks/errors.ts';
import type { AppSpec } from '../stacks/gitops.ts';
import type { Manifest } from './types.ts';

/**
 * Apps whose manifests infra renders itself (cluster add-ons) instead of fetching them from a
 * Git source: the round applies them like any app (dry-run gate, staged apply, inventory,
 * prune, drift, health, a record per cluster) and every app of the stack waits for them on
 * the clusters they share (an implicit dependsOn).
 */
export interface BuiltinApp {
  readonly spec: AppSpec;
  /** Stands in for the commit: a digest of what was rendered, so a changed render is a new revision. */
  readonly revision: string;
  /** The manifests for one of the clusters the spec targets. */
  manifests(cluster: string): readonly Manifest[];
}

/** Names of the apps infra owns start with this (the add-ons: `addon-flannel`, ...). */
export const BUILTIN_PREFIX = 'addon-';

export function isBuiltinName(app: string): boolean {
  return app.startsWith(BUILTIN_PREFIX);
}

/** The default options of an app infra owns: pruned, waited for, drift corrected, no variables. */
export function builtinAppSpec(name: string, clusters: readonly string[], dependsOn: readonly string[] = []): AppSpec {
  return {
    name,
    source: '',
    path: '',
    render: 'yaml',
    helm: { values: {}, valuesFiles: [] },
    createNamespace: false,
    targets: { clusters: [...clusters] },
    prune: true,
    allowEmpty: false,
    wait: true,
    timeoutMs: 120_000,
    dependsOn: [...dependsOn],
    variables: {},
    substitute: false,
    clusterVariables: {},
    drift: 'correct',
    conflicts: 'force',
    ignore: [],
    appsFolder: false,
  };
}

/** The stack's apps after the builtin ones, each made to depend on every builtin app. */
export function withBuiltins(builtins: readonly BuiltinApp[], apps: readonly AppSpec[]): AppSpec[] {
  const names = builtins.map((b) => b.spec.name);
  const taken = new Set(names);
  for (const a of apps) if (taken.has(a.name)) throw new BuiltinNameError(`app "${a.name}" has the name of an app infra owns (${names.join(', ')})`, { hint: 'rename the app in the stack' });
  return [...builtins.map((b) => b.spec), ...apps.map((a) => ({ ...a, dependsOn: [...new Set([...a.dependsOn, ...names])] }))];
}

export class BuiltinNameError extends InfraError {
  readonly reason = 'BuiltinAppName';
  override readonly exitCode = 2;
}
