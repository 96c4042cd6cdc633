import { stringify } from 'yaml';
import { API_VERSION } from './gitops.ts';
import { parseStack, type StackSpec } from './load.ts';
import type { SiteKind } from './model.ts';

/**
 * The stack `infra init` writes, from the answers of the wizard (or its flags). Pure: answers
 * in, a stack document out; the defaults it does not spell out are chosen by the same rules
 * as any stack (docs/DECISIONS.md), and `explainDefaults` shows which rule chose what.
 */

export interface DraftAnswers {
  readonly name: string;
  readonly site: SiteKind;
  readonly uri?: string;
  readonly edge: boolean;
  readonly unreliableNetwork: boolean;
  /** ssh sites: host addresses; kvm sites: VM names are generated. */
  readonly hosts: readonly string[];
  readonly hostMemoryGiB?: number;
  readonly arm: boolean;
  readonly clusters: readonly string[];
  readonly nodes: number;
  /** Overrides the user chose for the defaults (cluster field → value), for every cluster. */
  readonly overrides: Readonly<Record<string, string>>;
  readonly withExampleApps: boolean;
  /** Where this repository (with examples/gitops) is, relative to the stack file. */
  readonly examplesUrl?: string;
  /** The user's GitOps repository: one source and one app over every cluster. */
  readonly gitops?: DraftGitops;
}

export interface DraftGitops {
  /** Source (and app) name, from the repository's name. */
  readonly source: string;
  readonly url: string;
  readonly branch: string;
  readonly path: string;
  /** The webhook secret file, relative to the stack file (none: polling or the hook without a server). */
  readonly secretFile?: string;
}

/** A source name from a repository URL or path: `git@host:acme/fleet.git` → `fleet`. */
export function sourceNameOf(url: string): string {
  const last = url.replace(/[/\\]+$/, '').split(/[/:\\]/).pop() ?? '';
  const name = last.replace(/\.git$/, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return name || 'gitops';
}

export function draftStack(a: DraftAnswers): Record<string, unknown> {
  const siteName = a.site === 'local' ? 'this-machine' : a.edge ? 'edge' : 'site';
  const site: Record<string, unknown> = { name: siteName, kind: a.site };
  if (a.uri) site['uri'] = a.uri;
  if (a.edge) site['edge'] = true;
  if (a.unreliableNetwork) site['network'] = 'unreliable';
  const hosts =
    a.site === 'local'
      ? []
      : a.hosts.map((h, i) => ({
          name: `host-${i + 1}`,
          site: siteName,
          ...(a.site === 'ssh' ? { address: h } : {}),
          ...(a.hostMemoryGiB ? { memoryGiB: a.hostMemoryGiB } : {}),
          ...(a.arm ? { arch: 'arm64' } : {}),
        }));
  const perCluster = a.clusters.length > 0 ? Math.max(1, Math.floor(hosts.length / a.clusters.length)) : 0;
  const clusters = a.clusters.map((name, i) => ({
    name,
    ...(a.site === 'local' ? { nodes: a.nodes } : { hosts: hosts.slice(i * perCluster, (i + 1) * perCluster).map((h) => h.name) }),
    ...a.overrides,
  }));
  const doc: Record<string, unknown> = { apiVersion: API_VERSION, kind: 'Stack', metadata: { name: a.name }, sites: [site] };
  if (hosts.length > 0) doc['hosts'] = hosts;
  doc['clusters'] = clusters;
  if (a.gitops) {
    const g = a.gitops;
    doc['gitops'] = {
      sources: [{ name: g.source, url: g.url, ref: { branch: g.branch }, ...(g.secretFile ? { webhook: { secretFile: g.secretFile } } : {}) }],
      apps: [{ name: g.source, source: g.source, path: g.path, targets: { clusters: [...a.clusters] } }],
    };
  } else if (a.withExampleApps) {
    doc['gitops'] = {
      sources: [{ name: 'examples', url: a.examplesUrl ?? '.', ref: { branch: 'main' } }],
      apps: [{ name: 'hello', source: 'examples', path: 'examples/gitops/hello', variables: { greeting: 'hello' }, targets: { clusters: [...a.clusters] } }],
    };
  }
  return doc;
}

export function renderDraft(doc: Record<string, unknown>, schemaPath = './stack.schema.json'): string {
  return `# Written by \`infra init\`. Run \`infra preview -f <this file>\`, then \`infra up -f <this file>\`.\n# yaml-language-server: $schema=${schemaPath}\n${stringify(doc)}`;
}

/** The stack as infra reads it, and one line per default it chose: `clusters[0].cni = flannel (rule)`. */
export function explainDefaults(file: string, text: string): { stack: StackSpec; lines: string[] } {
  const stack = parseStack(file, text);
  return { stack, lines: stack.decisions.map((d) => `${d.path} = ${d.value}  (${d.rule})`) };
}
