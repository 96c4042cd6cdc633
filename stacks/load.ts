import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { readGitops, reportDuplicates } from './gitops-parse.ts';
import { readClusters, readHosts, readSites } from './infra-parse.ts';
import type { Decision, HostSpec, SiteSpec } from './model.ts';
import { STACK, fieldNames } from './schema.ts';
import { API_VERSION, type ClusterSpec, type GitopsSpec } from './gitops.ts';
import { SourceDocument, ValidationError } from './issues.ts';
import { FieldReader } from './reader.ts';
import { UsageError } from './errors.ts';

/** A loaded stack: what the reconciler needs today (clusters and gitops). */
export interface StackSpec {
  readonly file: string;
  readonly name: string;
  readonly sites: readonly SiteSpec[];
  readonly hosts: readonly HostSpec[];
  readonly clusters: readonly ClusterSpec[];
  /** Defaults chosen for what the file left out, with the rule that chose each. */
  readonly decisions: readonly Decision[];
  readonly gitops: GitopsSpec;
}

const TOP_FIELDS = fieldNames(STACK);

export async function loadStackFile(file: string): Promise<StackSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read stack file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      hint: 'pass the stack with -f FILE',
    });
  }
  return parseStack(file, text);
}

/** Parses and validates a stack; throws one ValidationError listing every problem. */
export function parseStack(file: string, text: string): StackSpec {
  const source = SourceDocument.parse(file, text);
  const r = new FieldReader(source);
  if (source.issues.length === 0) {
    r.knownKeys([], TOP_FIELDS);
    if (r.at(['apiVersion']) !== API_VERSION) source.report(['apiVersion'], `expected ${API_VERSION}`);
    if (r.at(['kind']) !== 'Stack') source.report(['kind'], 'expected Stack');
  }
  const name = r.string(['metadata', 'name']) ?? 'stack';
  const decisions: Decision[] = [];
  const ok = source.issues.length === 0;
  const sites = ok ? readSites(r) : [];
  const siteMap = new Map(sites.map((s) => [s.name, s]));
  const hosts = ok ? readHosts(r, siteMap) : [];
  const clusters = ok ? readClusters(r, siteMap, new Map(hosts.map((h) => [h.name, h])), decisions) : [];
  if (ok) {
    for (const list of ['sites', 'hosts', 'clusters']) {
      const names = (r.list([list]) ?? []).map((x) => (x as { name?: unknown } | null)?.name);
      reportDuplicates(r, [list], names.map((n) => (typeof n === 'string' ? n : undefined)));
    }
  }
  const gitops = source.issues.length === 0 ? readGitops(r, ['gitops'], new Set(clusters.map((c) => c.name))) : { sources: [], apps: [], orphan: [] };
  if (source.issues.length > 0) throw new ValidationError(file, source.issues);
  const base = dirname(resolve(file));
  return {
    file,
    name,
    sites,
    hosts,
    decisions,
    clusters: clusters.map((c) => (c.kubeconfig && !isAbsolute(c.kubeconfig) ? { ...c, kubeconfig: resolve(base, c.kubeconfig) } : c)),
    gitops: { ...gitops, sources: gitops.sources.map((s) => ({ ...s, url: resolveSourceUrl(base, s.url), ...(s.webhook && 'secretFile' in s.webhook ? { webhook: { secretFile: resolve(base, s.webhook.secretFile) } } : {}) })) },
  };
}

/** A local path is taken relative to the stack file; anything with a scheme or `user@host:` is a URL. */
export function resolveSourceUrl(base: string, url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^/]+:/.test(url)) return url;
  return isAbsolute(url) ? url : resolve(base, url);
}

