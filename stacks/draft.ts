import { stringify } from 'yaml';
import { API_VERSION } from './gitops.ts';
import { parseStack, type StackSpec } from './load.ts';
import type { Decision, SiteKind } from './model.ts';
import { chooseRuntimes, chooseSecurity, chooseSharedStorage } from './wizard-rules.ts';

/**
 * The stack `infra init` writes, from the answers of the wizard (or its flags). Pure: answers
 * in, a stack document out; the defaults it does not spell out are chosen by the same rules
 * as any stack (docs/DECISIONS.md), and `explainDefaults` shows which rule chose what.
 */

/** One site of the wizard's answers: where it is, its hosts, its clusters and what decides their add-ons. */
export interface DraftSiteAnswers {
  readonly site: SiteKind;
  readonly uri?: string;
  readonly edge: boolean;
  readonly unreliableNetwork: boolean;
  /** ssh sites: host addresses; kvm sites: VM names are generated. */
  readonly hosts: readonly string[];
  readonly hostMemoryGiB?: number;
  readonly arm: boolean;
  readonly clusters: readonly string[];
  /** The add-on questions (non-local sites; absent: not asked, the stack's own rules apply). */
  readonly addons?: DraftAddonAnswers;
  /** Overrides the user chose for this site's clusters (field → value), on top of DraftAnswers.overrides. */
  readonly siteOverrides?: Readonly<Record<string, string>>;
}

export interface DraftAddonAnswers {
  readonly untrusted: boolean;
  readonly vmIsolation: boolean;
  readonly l7Policies: boolean;
  readonly sharedStorage: boolean;
  /** Spare block devices, the same on every host of the site (e.g. /dev/vdb); empty: none. */
  readonly disks: readonly string[];
}

export interface DraftAnswers extends DraftSiteAnswers {
  readonly name: string;
  readonly nodes: number;
  /** Overrides the user chose for the defaults (cluster field → value), for every cluster. */
  readonly overrides: Readonly<Record<string, string>>;
  readonly withExampleApps: boolean;
  /** Where this repository (with examples/gitops) is, relative to the stack file. */
  readonly examplesUrl?: string;
  /** The user's GitOps repository: one source and one app over every cluster. */
  readonly gitops?: DraftGitops;
  /** Further sites of a mixed estate (e.g. edge sites next to the core one). */
  readonly more?: readonly DraftSiteAnswers[];
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
  const sites: Record<string, unknown>[] = [];
  const hosts: Record<string, unknown>[] = [];
  const clusters: Record<string, unknown>[] = [];
  const all = [a, ...(a.more ?? [])];
  all.forEach((s) => {
    const base = s.site === 'local' ? 'this-machine' : s.edge ? 'edge' : 'site';
    const taken = new Set(sites.map((x) => x['name']));
    let siteName = base;
    for (let i = 2; taken.has(siteName); i++) siteName = `${base}-${i}`;
    const site: Record<string, unknown> = { name: siteName, kind: s.site };
    if (s.uri) site['uri'] = s.uri;
    if (s.edge) site['edge'] = true;
    if (s.unreliableNetwork) site['network'] = 'unreliable';
    sites.push(site);
    const disks = s.addons?.disks ?? [];
    const own =
      s.site === 'local'
        ? []
        : s.hosts.map((h, i) => ({
            name: `host-${hosts.length + i + 1}`,
            site: siteName,
            ...(s.site === 'ssh' ? { address: h } : {}),
            ...(s.hostMemoryGiB ? { memoryGiB: s.hostMemoryGiB } : {}),
            ...(s.arm ? { arch: 'arm64' } : {}),
            ...(disks.length > 0 ? { disks: [...disks] } : {}),
          }));
    hosts.push(...own);
    const shares = shareHosts(own, s.clusters.length);
    s.clusters.forEach((name, i) => {
      const mine = shares[i] ?? [];
      const chosen = Object.fromEntries(addonDecisions(s.addons, mine.length).flatMap((d) => (d.value === undefined ? [] : [[d.field, d.value]])));
      clusters.push({
        name,
        ...(all.length > 1 ? { site: siteName } : {}),
        ...(s.site === 'local' ? { nodes: a.nodes } : { hosts: mine.map((h) => h.name) }),
        ...chosen,
        ...a.overrides,
        ...(s.siteOverrides ?? {}),
      });
    });
  });
  const doc: Record<string, unknown> = { apiVersion: API_VERSION, kind: 'Stack', metadata: { name: a.name }, sites };
  if (hosts.length > 0) doc['hosts'] = hosts;
  doc['clusters'] = clusters;
  const names = all.flatMap((s) => s.clusters);
  if (a.gitops) {
    const g = a.gitops;
    doc['gitops'] = {
      sources: [{ name: g.source, url: g.url, ref: { branch: g.branch }, ...(g.secretFile ? { webhook: { secretFile: g.secretFile } } : {}) }],
      apps: [{ name: g.source, source: g.source, path: g.path, targets: { clusters: names } }],
    };
  } else if (a.withExampleApps) {
    doc['gitops'] = {
      sources: [{ name: 'examples', url: a.examplesUrl ?? '.', ref: { branch: 'main' } }],
      apps: [{ name: 'hello', source: 'examples', path: 'examples/gitops/hello', variables: { greeting: 'hello' }, targets: { clusters: names } }],
    };
  }
  return doc;
}

/** The hosts of a site split among its clusters: an equal share each (at least one), in order. */
function shareHosts<T>(own: readonly T[], clusters: number): T[][] {
  const per = clusters > 0 ? Math.max(1, Math.floor(own.length / clusters)) : 0;
  return Array.from({ length: clusters }, (_, i) => own.slice(i * per, (i + 1) * per));
}

interface AddonDecision {
  readonly field: 'security' | 'runtimes' | 'csi';
  /** What the stack file gets; absent: the file says nothing (the stack's default is the same). */
  readonly value?: string | string[];
  readonly shown: string;
  readonly rule: string;
}

/** What a site's add-on answers decide for each of its clusters, with the rules. */
function addonDecisions(x: DraftAddonAnswers | undefined, hostsWithDisks: number): AddonDecision[] {
  if (!x) return [];
  const out: AddonDecision[] = [];
  const security = chooseSecurity(x.l7Policies);
  out.push({ field: 'security', ...(security.value === 'strict' ? { value: security.value } : {}), shown: security.value, rule: security.rule });
  const runtimes = chooseRuntimes({ untrusted: x.untrusted, vmIsolation: x.vmIsolation });
  out.push({ field: 'runtimes', ...(runtimes.value.length > 0 ? { value: [...runtimes.value] } : {}), shown: runtimes.value.join(',') || 'runc', rule: runtimes.rule });
  if (x.sharedStorage) {
    const csi = chooseSharedStorage({ shared: true, hostsWithDisks: x.disks.length > 0 ? hostsWithDisks : 0 });
    out.push({ field: 'csi', value: csi.value, shown: csi.value, rule: csi.rule });
  }
  return out;
}

/**
 * The choices the add-on answers made, per cluster, as `explainDefaults` lines: the stack file
 * records their values (so `parseStack` has no rule for them), the wizard shows why. A field
 * the user overrode is left out, as `parseStack` leaves out what a file sets.
 */
export function answerDecisions(a: DraftAnswers): Decision[] {
  const out: Decision[] = [];
  let index = 0;
  for (const s of [a, ...(a.more ?? [])]) {
    for (const mine of shareHosts(s.site === 'local' ? [] : s.hosts, s.clusters.length)) {
      for (const d of addonDecisions(s.addons, mine.length)) {
        if (a.overrides[d.field] === undefined && s.siteOverrides?.[d.field] === undefined) out.push({ path: `clusters[${index}].${d.field}`, value: d.shown, rule: d.rule });
      }
      index++;
    }
  }
  return out;
}

export function renderDraft(doc: Record<string, unknown>, schemaPath = './stack.schema.json'): string {
  return `# Written by \`infra init\`. Run \`infra preview -f <this file>\`, then \`infra up -f <this file>\`.\n# yaml-language-server: $schema=${schemaPath}\n${stringify(doc)}`;
}

/** The stack as infra reads it, and one line per default it chose: `clusters[0].cni = flannel (rule)`. */
export function explainDefaults(file: string, text: string): { stack: StackSpec; lines: string[] } {
  const stack = parseStack(file, text);
  return { stack, lines: stack.decisions.map(decisionLine) };
}

/** `clusters[0].cni = flannel  (rule)`: one choice as the wizard lists it. */
const decisionLine = (d: Decision): string => `${d.path} = ${d.value}  (${d.rule})`;

const FIELD_ORDER = ['distribution', 'datastore', 'cni', 'csi', 'security', 'runtimes'];

/** `explainDefaults` plus the choices the add-on answers made, cluster by cluster in a fixed field order. */
export function explainDraft(file: string, text: string, a: DraftAnswers): { stack: StackSpec; lines: string[] } {
  const stack = parseStack(file, text);
  const key = (d: Decision) => {
    const m = /^clusters\[(\d+)\]\.(\w+)$/.exec(d.path);
    return m ? [Number(m[1]), FIELD_ORDER.indexOf(m[2] ?? '')] : [Number.MAX_SAFE_INTEGER, 0];
  };
  const all = [...stack.decisions, ...answerDecisions(a)].sort((x, y) => {
    const [a1 = 0, b1 = 0] = key(x);
    const [a2 = 0, b2 = 0] = key(y);
    return a1 - a2 || b1 - b2;
  });
  return { stack, lines: all.map(decisionLine) };
}
