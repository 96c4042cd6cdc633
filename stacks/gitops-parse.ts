import type { AppSpec, FailoverSpec, GitopsSpec, GitRef, GitSourceSpec, IgnoreRule, LabelSelector, PlacementSpec, RendererKind, SelectorRequirement, WebhookSecretRef } from './gitops.ts';
import type { PathSegment } from './issues.ts';
import type { FieldReader } from './reader.ts';
import { API_VERSION_PATTERN, APP, ENUMS, FAILOVER, fieldNames, HELM, KUBE_VERSION_PATTERN, PLACEMENT, SOURCE } from './schema.ts';

/** Reads the `gitops` section and `App` documents, reporting every problem through the reader. */

export const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME_TEXT = 'a lowercase name of letters, digits and dashes';

const APP_FIELDS = fieldNames(APP);

export function readGitops(r: FieldReader, base: readonly PathSegment[], clusterNames: ReadonlySet<string>): GitopsSpec {
  r.knownKeys(base, ['sources', 'apps', 'orphan']);
  const sources = (r.list([...base, 'sources']) ?? []).map((_, i) => readSource(r, [...base, 'sources', i]));
  const apps = (r.list([...base, 'apps']) ?? []).map((_, i) => readApp(r, [...base, 'apps', i]));
  // Names as written, even of entries with other problems, so one mistake is reported once.
  const rawNames = (list: string) => new Set((r.list([...base, list]) ?? []).map((x) => (x as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === 'string'));
  const sourceNames = rawNames('sources');
  const appNames = rawNames('apps');
  apps.forEach((app, i) => {
    if (!app) return;
    const p = [...base, 'apps', i];
    if (!sourceNames.has(app.source)) r.source.report([...p, 'source'], `no source named "${app.source}" (sources: ${[...sourceNames].join(', ') || 'none'})`);
    app.targets.clusters.forEach((c, j) => {
      if (!clusterNames.has(c)) r.source.report([...p, 'targets', 'clusters', j], `no cluster named "${c}"`);
    });
    app.placement?.preference?.forEach((c, j) => {
      if (!clusterNames.has(c)) r.source.report([...p, 'placement', 'preference', j], `no cluster named "${c}"`);
    });
    Object.keys(app.placement?.weights ?? {}).forEach((c) => {
      if (!clusterNames.has(c)) r.source.report([...p, 'placement', 'weights', c], `no cluster named "${c}"`);
    });
    app.dependsOn.forEach((d, j) => {
      if (!appNames.has(d)) r.source.report([...p, 'dependsOn', j], `no app named "${d}"`);
    });
  });
  reportDuplicates(r, [...base, 'sources'], sources.map((s) => s?.name));
  reportDuplicates(r, [...base, 'apps'], apps.map((a) => a?.name));
  const valid = apps.filter((a): a is AppSpec => !!a);
  const cycle = findCycle(valid.map((a) => [a.name, a.dependsOn] as const));
  if (cycle) r.source.report([...base, 'apps'], `dependsOn forms a cycle: ${cycle.join(' → ')}`);
  const orphan = (r.list([...base, 'orphan']) ?? []).map((_, i) => r.string([...base, 'orphan', i], { required: true, pattern: NAME, patternText: NAME_TEXT })).filter((n): n is string => !!n);
  orphan.forEach((n, i) => {
    if (appNames.has(n)) r.source.report([...base, 'orphan', i], `app "${n}" is still in the stack: orphan names apps removed from it`);
  });
  return { sources: sources.filter((s): s is GitSourceSpec => !!s), apps: valid, orphan };
}

export function findCycle(edges: readonly (readonly [string, readonly string[]])[]): string[] | undefined {
  const next = new Map(edges);
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'visiting') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'visiting');
    stack.push(n);
    for (const m of next.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const [n] of edges) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

function readSource(r: FieldReader, p: readonly PathSegment[]): GitSourceSpec | undefined {
  r.knownKeys(p, fieldNames(SOURCE));
  const name = r.string([...p, 'name'], { required: true, pattern: NAME, patternText: NAME_TEXT });
  const url = r.string([...p, 'url'], { required: true });
  const ref = readRef(r, [...p, 'ref']);
  const webhook = readWebhook(r, [...p, 'webhook']);
  const timing = {
    ...(r.at([...p, 'interval']) !== undefined ? { intervalMs: r.duration([...p, 'interval'], 60_000) } : {}),
    ...(r.at([...p, 'driftInterval']) !== undefined ? { driftIntervalMs: r.duration([...p, 'driftInterval'], 300_000) } : {}),
  };
  return name && url && ref && webhook !== null ? { name, url, ref, ...timing, ...(webhook ? { webhook } : {}) } : undefined;
}

/** undefined: no webhook; null: written but wrong (already reported). */
function readWebhook(r: FieldReader, p: readonly PathSegment[]): WebhookSecretRef | undefined | null {
  const obj = r.object(p);
  if (!obj) return undefined;
  const keys = Object.keys(obj);
  if (keys.length !== 1 || !['secretFile', 'secretEnv'].includes(keys[0] ?? '')) {
    r.source.report(p, 'expected exactly one of secretFile or secretEnv (the secret itself never goes into the stack)');
    return null;
  }
  const key = keys[0] as 'secretFile' | 'secretEnv';
  const value = r.string([...p, key], { required: true, ...(key === 'secretEnv' ? { pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternText: 'an environment variable name' } : {}) });
  if (!value) return null;
  return key === 'secretFile' ? { secretFile: value } : { secretEnv: value };
}

function readRef(r: FieldReader, p: readonly PathSegment[]): GitRef | undefined {
  const obj = r.object(p);
  if (!obj) return { branch: 'main' };
  const keys = Object.keys(obj);
  if (keys.length !== 1 || !['branch', 'tag', 'commit'].includes(keys[0] ?? '')) {
    r.source.report(p, 'expected exactly one of branch, tag or commit');
    return undefined;
  }
  const key = keys[0] as 'branch' | 'tag' | 'commit';
  const value = r.string([...p, key], { required: true, ...(key === 'commit' ? { pattern: /^[0-9a-f]{7,40}$/, patternText: 'a commit hash' } : {}) });
  if (!value) return undefined;
  return key === 'branch' ? { branch: value } : key === 'tag' ? { tag: value } : { commit: value };
}

export function readApp(r: FieldReader, p: readonly PathSegment[], defaults: { source?: string } = {}): AppSpec | undefined {
  r.knownKeys(p, APP_FIELDS);
  const inFile = defaults.source !== undefined;
  const name = inFile
    ? (r.string(['metadata', 'name'], { required: true, pattern: NAME, patternText: NAME_TEXT }) ?? undefined)
    : r.string([...p, 'name'], { required: true, pattern: NAME, patternText: NAME_TEXT });
  const source = r.string([...p, 'source'], { required: defaults.source === undefined }) ?? defaults.source;
  const path = r.string([...p, 'path']) ?? '.';
  if (path.split('/').includes('..')) r.source.report([...p, 'path'], 'must stay inside the repository (no "..")');
  const render = r.oneOf<RendererKind>([...p, 'render'], ENUMS.render, 'auto');
  const kind = r.oneOf([...p, 'kind'], ENUMS.appKind, 'manifests');
  const targets = readTargets(r, [...p, 'targets']);
  const placement = readPlacement(r, [...p, 'placement']);
  const clusterVariables: Record<string, Record<string, string>> = {};
  for (const cluster of Object.keys(r.object([...p, 'clusterVariables']) ?? {})) {
    clusterVariables[cluster] = r.stringMap([...p, 'clusterVariables', cluster]);
  }
  const dependsOn = (r.list([...p, 'dependsOn']) ?? []).map((_, i) => r.string([...p, 'dependsOn', i], { required: true })).filter((d): d is string => !!d);
  const helm = readHelm(r, [...p, 'helm']);
  const namespace = r.string([...p, 'namespace'], { pattern: NAME, patternText: NAME_TEXT });
  const app: AppSpec = {
    name: name ?? '',
    source: source ?? '',
    path,
    render: render ?? 'auto',
    helm,
    ...(namespace ? { namespace } : {}),
    createNamespace: r.boolean([...p, 'createNamespace'], false),
    targets,
    ...(placement ? { placement } : {}),
    prune: r.boolean([...p, 'prune'], true),
    allowEmpty: r.boolean([...p, 'allowEmpty'], false),
    wait: r.boolean([...p, 'wait'], true),
    timeoutMs: r.duration([...p, 'timeout'], 120_000),
    dependsOn,
    variables: r.stringMap([...p, 'variables']),
    substitute: r.boolean([...p, 'substitute'], true),
    clusterVariables,
    drift: r.oneOf([...p, 'drift'], ENUMS.drift, 'correct') ?? 'correct',
    conflicts: r.oneOf([...p, 'conflicts'], ENUMS.conflicts, 'force') ?? 'force',
    ignore: readIgnore(r, [...p, 'ignore']),
    appsFolder: kind === 'apps',
  };
  return name && source && render && kind ? app : undefined;
}

function readHelm(r: FieldReader, p: readonly PathSegment[]): AppSpec['helm'] {
  r.object(p);
  r.knownKeys(p, fieldNames(HELM));
  const releaseName = r.string([...p, 'releaseName'], { pattern: NAME, patternText: NAME_TEXT });
  const valuesFiles = (r.list([...p, 'valuesFiles']) ?? []).map((_, i) => r.string([...p, 'valuesFiles', i], { required: true })).filter((f): f is string => !!f);
  valuesFiles.forEach((f, i) => {
    if (f.startsWith('/') || f.split('/').includes('..')) r.source.report([...p, 'valuesFiles', i], 'must be a path inside the chart folder (no "..", not absolute)');
  });
  const kubeVersion = r.string([...p, 'kubeVersion'], { pattern: new RegExp(KUBE_VERSION_PATTERN), patternText: 'a Kubernetes version like 1.30.0' });
  const apiList = r.list([...p, 'apiVersions']);
  const apiVersions = (apiList ?? [])
    .map((_, i) => r.string([...p, 'apiVersions', i], { required: true, pattern: new RegExp(API_VERSION_PATTERN), patternText: 'group/version or group/version/Kind' }))
    .filter((v): v is string => !!v);
  return {
    ...(releaseName ? { releaseName } : {}),
    values: (r.object([...p, 'values']) ?? {}) as Record<string, unknown>,
    valuesFiles,
    ...(kubeVersion ? { kubeVersion } : {}),
    ...(apiList ? { apiVersions } : {}),
  };
}

function readTargets(r: FieldReader, p: readonly PathSegment[]): AppSpec['targets'] {
  r.knownKeys(p, ['clusters', 'selector']);
  const clusters = (r.list([...p, 'clusters']) ?? []).map((_, i) => r.string([...p, 'clusters', i], { required: true })).filter((c): c is string => !!c);
  const selector = readSelector(r, [...p, 'selector']);
  if (clusters.length === 0 && !selector && r.at(p) !== undefined) r.source.report(p, 'name clusters or a selector');
  return { clusters, ...(selector ? { selector } : {}) };
}

function readSelector(r: FieldReader, p: readonly PathSegment[]): LabelSelector | undefined {
  if (!r.object(p)) return undefined;
  r.knownKeys(p, ['matchLabels', 'matchExpressions']);
  const list = r.list([...p, 'matchExpressions']);
  const matchExpressions = (list ?? []).map((_, i) => readRequirement(r, [...p, 'matchExpressions', i])).filter((e): e is SelectorRequirement => !!e);
  return { matchLabels: r.stringMap([...p, 'matchLabels']), ...(list ? { matchExpressions } : {}) };
}

function readRequirement(r: FieldReader, p: readonly PathSegment[]): SelectorRequirement | undefined {
  r.knownKeys(p, ['key', 'operator', 'values']);
  const key = r.string([...p, 'key'], { required: true });
  const operator = r.oneOf([...p, 'operator'], ENUMS.selectorOperator);
  if (r.at([...p, 'operator']) === undefined) r.source.report([...p, 'operator'], `required: one of ${ENUMS.selectorOperator.join(', ')}`);
  const values = (r.list([...p, 'values']) ?? []).map((_, i) => r.string([...p, 'values', i], { required: true })).filter((v): v is string => v !== undefined);
  const withValues = operator === 'In' || operator === 'NotIn';
  if (operator && withValues && values.length === 0) r.source.report([...p, 'values'], `${operator} needs at least one value`);
  if (operator && !withValues && r.at([...p, 'values']) !== undefined) r.source.report([...p, 'values'], `${operator} takes no values`);
  return key && operator ? { key, operator, values } : undefined;
}

function readPlacement(r: FieldReader, p: readonly PathSegment[]): PlacementSpec | undefined {
  if (!r.object(p)) return undefined;
  r.knownKeys(p, fieldNames(PLACEMENT));
  const maxClusters = r.integer([...p, 'maxClusters'], { min: 1 });
  const spreadBy = r.string([...p, 'spreadBy']);
  const prefList = r.list([...p, 'preference']);
  const preference = (prefList ?? []).map((_, i) => r.string([...p, 'preference', i], { required: true })).filter((c): c is string => !!c);
  const weightsObj = r.object([...p, 'weights']);
  const weights: Record<string, number> = {};
  for (const c of Object.keys(weightsObj ?? {})) {
    const w = r.integer([...p, 'weights', c], { min: 1 });
    if (w !== undefined) weights[c] = w;
  }
  if (prefList && weightsObj) r.source.report([...p, 'weights'], 'set either preference or weights, not both');
  const replicas = r.oneOf([...p, 'replicas'], ENUMS.replicaMode, 'Duplicated') ?? 'Duplicated';
  const failover = readFailover(r, [...p, 'failover']);
  return {
    ...(maxClusters !== undefined ? { maxClusters } : {}),
    ...(spreadBy ? { spreadBy } : {}),
    ...(prefList ? { preference } : {}),
    ...(weightsObj ? { weights } : {}),
    replicas,
    ...(failover ? { failover } : {}),
  };
}

/** Defaults: tolerationSeconds 30, purgeMode Graciously, failback enabled after 60 s, 4 moves per hour. */
function readFailover(r: FieldReader, p: readonly PathSegment[]): FailoverSpec | undefined {
  if (!r.object(p)) return undefined;
  r.knownKeys(p, fieldNames(FAILOVER));
  r.object([...p, 'failback']);
  r.knownKeys([...p, 'failback'], ['enabled', 'stabilizationSeconds']);
  const data = r.oneOf([...p, 'data'], ENUMS.dataPolicy);
  return {
    tolerationSeconds: r.integer([...p, 'tolerationSeconds'], { min: 0, fallback: 30 }) ?? 30,
    purgeMode: r.oneOf([...p, 'purgeMode'], ENUMS.purgeMode, 'Graciously') ?? 'Graciously',
    failback: {
      enabled: r.boolean([...p, 'failback', 'enabled'], true),
      stabilizationSeconds: r.integer([...p, 'failback', 'stabilizationSeconds'], { min: 0, fallback: 60 }) ?? 60,
    },
    maxMovesPerHour: r.integer([...p, 'maxMovesPerHour'], { min: 1, fallback: 4 }) ?? 4,
    ...(data ? { data } : {}),
  };
}

function readIgnore(r: FieldReader, p: readonly PathSegment[]): IgnoreRule[] {
  return (r.list(p) ?? []).map((_, i) => {
    const q = [...p, i];
    r.knownKeys(q, ['kind', 'name', 'namespace', 'pointers']);
    const pointers = (r.list([...q, 'pointers'], true) ?? [])
      .map((_, j) => r.string([...q, 'pointers', j], { required: true, pattern: /^(\/[^/]*)+$/, patternText: 'a JSON pointer like /spec/replicas' }))
      .filter((x): x is string => !!x);
    const kind = r.string([...q, 'kind']);
    const name = r.string([...q, 'name']);
    const namespace = r.string([...q, 'namespace']);
    return { ...(kind ? { kind } : {}), ...(name ? { name } : {}), ...(namespace ? { namespace } : {}), pointers };
  });
}

export function reportDuplicates(r: FieldReader, base: readonly PathSegment[], names: readonly (string | undefined)[]): void {
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    if (!n) return;
    if (seen.has(n)) r.source.report([...base, i, 'name'], `duplicate name "${n}" (also at ${base.join('.')}[${seen.get(n)}])`);
    else seen.set(n, i);
  });
}
