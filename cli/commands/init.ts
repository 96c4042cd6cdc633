import { randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathExists as exists } from '../../clusters/fs.ts';
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { draftStack, explainDraft, renderDraft, sourceNameOf, type DraftAnswers, type DraftSiteAnswers } from '../../stacks/draft.ts';
import { AbortError, UsageError } from '../../stacks/errors.ts';
import { ENUMS } from '../../stacks/schema.ts';
import { wholeNumber, wholeNumberProblem } from '../options.ts';
import { MEMORY_GIB, addSiteFlags, checkSiteFlags, commaList, diskProblem, goWith, siteFlagAnswers, siteFlagsGiven } from '../init-site-flags.ts';
import type { SiteKind } from '../../stacks/model.ts';
import { DEFAULT_SERVE_URL, PROVIDER_TITLES, WEBHOOK_PROVIDERS, webhookSetup, type WebhookProvider, type WebhookSetup } from '../webhook-setup.ts';

/**
 * `infra init`: the cluster bootstrap wizard. Asks only what its flags left open, shows the
 * default each rule picks (and why), lets the user override, writes a stack file that
 * validates. `--yes` takes every default without asking (scripts, CI).
 */

/** Bounds of the wizard's numeric answers, for flags and prompts alike. */
const NODES = { min: 0, max: 1000 } as const;
const VMS = { min: 1, max: 100 } as const;
const check = (bounds: { min: number; max: number }) => (v: string) => wholeNumberProblem(String(v), bounds.min, bounds.max) ?? true;

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface InitOpts {
  file: string;
  name?: string;
  site?: string;
  uri?: string;
  edge?: boolean;
  hosts?: string;
  clusters?: string;
  nodes?: number;
  yes?: boolean;
  force?: boolean;
  json?: boolean;
  repo?: string;
  branch?: string;
  path?: string;
  webhook?: string;
  serveUrl?: string;
  edgeHosts?: string;
  edgeClusters?: string;
  // And the answers of each site's questions (init-site-flags.ts: --untrusted, --edge-untrusted, ...).
}

/** The GitOps answers: where the manifests are and how a push reaches infra. */
interface GitopsAnswers {
  readonly repo: string;
  readonly branch: string;
  readonly path: string;
  readonly webhook: WebhookProvider;
  readonly serveUrl: string;
}

export function registerInit(program: Command): void {
  const command = program
    .command('init')
    .description('bootstrap wizard: write a stack file, showing which rule picked each default')
    .option('-f, --file <stack>', 'where to write the stack', 'stack.yaml')
    .option('--name <name>', 'stack name')
    .option('--site <kind>', 'local, kvm or ssh')
    .option('--uri <uri>', 'libvirt URI (kvm sites)')
    .option('--edge', 'an edge site (small nodes, K3s)')
    .option('--hosts <list>', 'comma-separated host addresses (ssh) or a VM count (kvm)')
    .option('--clusters <list>', 'comma-separated cluster names')
    .option('--nodes <n>', 'nodes per local cluster', wholeNumber(NODES.min, NODES.max))
    .option('-y, --yes', 'accept every default, ask nothing')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print what was written as JSON (the file, the defaults and their rules)')
    .option('--repo <url|path>', 'GitOps repository: any URL git understands, or a local path')
    .option('--branch <branch>', 'branch of --repo to follow (default main)')
    .option('--path <path>', 'folder of the manifests in --repo (default: its root)')
    .option('--webhook <provider>', `how a push reaches infra: ${WEBHOOK_PROVIDERS.join(', ')} (default none: polling)`)
    .option('--serve-url <url>', `infra serve as the Git server reaches it (default ${DEFAULT_SERVE_URL})`);
  addSiteFlags(command, '')
    .option('--edge-hosts <list>', 'a second, edge site over SSH with these host addresses (mixed estate; needs a kvm or ssh --site)')
    .option('--edge-clusters <list>', 'cluster names of the --edge-hosts site (default edge)');
  addSiteFlags(command, 'edge-')
    .action(async (opts: InitOpts) => {
      if (!opts.force && (await exists(opts.file))) throw new UsageError(`${opts.file} exists`, { hint: 'pass --force to overwrite it, or -f another file' });
      const interactive = !opts.yes;
      if (interactive && !process.stdin.isTTY) {
        throw new UsageError('infra init needs a terminal to ask its questions', { hint: 'pass --yes (and flags such as --site, --clusters) to run without one' });
      }
      const asked = interactive ? await stoppable(ask(opts)) : { draft: fromFlags(opts), gitops: gitopsFromFlags(opts) };
      const stackDir = dirname(resolve(opts.file));
      const source = asked.gitops ? sourceNameOf(asked.gitops.repo) : undefined;
      const secretName = source && asked.gitops?.webhook !== 'none' ? `webhook-${source}.secret` : undefined;
      const answers: DraftAnswers = asked.gitops && source
        ? { ...asked.draft, withExampleApps: false, gitops: { source, url: stackRelative(stackDir, asked.gitops.repo), branch: asked.gitops.branch, path: asked.gitops.path, ...(secretName ? { secretFile: secretName } : {}) } }
        : asked.draft;
      const examplesUrl = relative(dirname(resolve(opts.file)), PROJECT_ROOT) || '.';
      const schema = relative(dirname(resolve(opts.file)), `${PROJECT_ROOT}stacks/stack.schema.json`);
      const withOverrides = (perSite: readonly Record<string, string>[]): DraftAnswers => ({
        ...answers,
        examplesUrl,
        siteOverrides: perSite[0] ?? {},
        ...(answers.more ? { more: answers.more.map((m, i) => ({ ...m, siteOverrides: perSite[i + 1] ?? {} })) } : {}),
      });
      const textFor = (perSite: readonly Record<string, string>[]) => renderDraft(draftStack(withOverrides(perSite)), schema);
      const groups = siteGroups(answers);
      const perSite = interactive ? await stoppable(reviewDefaults((o) => explainDraft(opts.file, textFor(o), withOverrides(o)).lines, groups)) : groups.map(() => ({}));
      const text = textFor(perSite);
      const { lines } = explainDraft(opts.file, text, withOverrides(perSite));
      const secret = secretName ? await ensureSecret(join(stackDir, secretName)) : undefined;
      await writeFile(opts.file, text);
      const next = `infra preview -f ${opts.file} && infra up -f ${opts.file}`;
      const setup: WebhookSetup | undefined =
        asked.gitops && source
          ? webhookSetup({
              provider: asked.gitops.webhook,
              serveUrl: asked.gitops.serveUrl,
              source,
              repo: isUrl(asked.gitops.repo) ? asked.gitops.repo : resolve(asked.gitops.repo),
              branch: asked.gitops.branch,
              ...(secretName && secret ? { secretFile: relative(process.cwd(), secret.file) || secretName, secretFileAbsolute: secret.file } : {}),
              stackFile: opts.file,
              stackFileAbsolute: resolve(opts.file),
            })
          : undefined;
      if (opts.json) {
        const webhook = setup ? { provider: setup.provider, ...(setup.url ? { url: setup.url } : {}), ...(secret ? { secretFile: secret.file, secretCreated: secret.created } : {}), steps: setup.lines } : undefined;
        process.stdout.write(`${JSON.stringify({ file: opts.file, defaults: lines, next, ...(webhook ? { webhook } : {}) }, null, 2)}\n`);
        return;
      }
      const secretLine = secret ? `${secret.created ? 'wrote' : 'kept'} the webhook secret in ${secret.file} (mode 0600; the stack names it, infra serve reads it)\n` : '';
      const setupText = setup ? `${setup.lines.join('\n')}\n` : '';
      if (interactive) process.stdout.write(`--- ${opts.file} ---\n${text}---\n`);
      process.stdout.write(`wrote ${opts.file}\n${lines.length ? `chosen by rule (defaults and your answers):\n${lines.map((l) => `  ${l}`).join('\n')}\n` : ''}${secretLine}${setupText}next: ${next}\n`);
      if (interactive && (await stoppable(confirm('Run infra preview now?', false)))) await runPreview(opts.file);
    });
}

async function confirm(message: string, dflt: boolean): Promise<boolean> {
  const { default: inquirer } = await import('inquirer');
  const a = await inquirer.prompt([{ type: 'confirm', name: 'yes', message, default: dflt } as never]);
  return a['yes'] === true;
}

/** `infra preview -f <file>` as its own process (this checkout's CLI), output straight to the terminal. */
async function runPreview(file: string): Promise<void> {
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'cli', 'bin', 'infra.js'), 'preview', '-f', file], { stdio: 'inherit' });
    child.on('error', fail);
    child.on('close', done);
  });
  if (code !== 0) process.stdout.write(`infra preview exited with ${code ?? 'a signal'}; the stack is written, fix and run: infra preview -f ${file}\n`);
}

/** The clusters of each site, by their index in the stack: the review asks per site. */
function siteGroups(a: DraftAnswers): { from: number; to: number; label?: string }[] {
  const sites = [a, ...(a.more ?? [])];
  let from = 0;
  return sites.map((s, i) => {
    const g = { from, to: from + s.clusters.length, ...(sites.length > 1 ? { label: `${s.edge ? 'edge site' : `site ${i + 1}`}: ${s.clusters.join(', ')}` } : {}) };
    from = g.to;
    return g;
  });
}

/** Ctrl-C at a prompt (the terminal is raw, so no SIGINT: inquirer raises ExitPromptError) is an interrupt: exit 130, nothing written. */
async function stoppable<T>(prompting: Promise<T>): Promise<T> {
  try {
    return await prompting;
  } catch (err) {
    if (err instanceof Error && err.name === 'ExitPromptError') throw new AbortError('interrupted at a prompt', { hint: 'nothing was written' });
    throw err;
  }
}

/** `--yes`: every answer from the flags, the rest the prompts' defaults (no for every yes/no question). */
function fromFlags(o: InitOpts): DraftAnswers {
  const site = parseSite(o.site ?? 'local');
  checkSiteFlags(o, '', site);
  const edge = edgeSiteFromFlags(o, site);
  const uri = o.uri ?? (site === 'kvm' ? 'qemu:///system' : undefined);
  return {
    ...siteAnswers({ site, ...(uri ? { uri } : {}), edge: o.edge === true, ...(o.hosts ? { hosts: o.hosts } : {}), clusters: o.clusters ?? 'core', ...siteFlagAnswers(o, '') }),
    ...(edge ? { more: [siteAnswers({ clusters: 'edge', ...edge })] } : {}),
    name: o.name ?? 'local',
    nodes: o.nodes ?? 2,
    overrides: {},
    withExampleApps: site === 'local',
  };
}

async function ask(o: InitOpts): Promise<{ draft: DraftAnswers; gitops: GitopsAnswers | undefined }> {
  const { default: inquirer } = await import('inquirer');
  const given: Record<string, unknown> = {};
  if (o.name) given['name'] = o.name;
  if (o.site) given['site'] = parseSite(o.site);
  if (o.uri) given['uri'] = o.uri;
  if (o.edge) given['edge'] = true;
  if (o.hosts) given['hosts'] = o.hosts;
  if (o.clusters) given['clusters'] = o.clusters;
  if (o.nodes !== undefined) given['nodes'] = String(o.nodes);
  if (o.repo !== undefined) given['repo'] = o.repo;
  if (o.branch) given['branch'] = o.branch;
  if (o.path) given['path'] = o.path;
  if (o.webhook) given['webhook'] = parseProvider(o.webhook);
  if (o.serveUrl) given['serveUrl'] = parseServeUrl(o.serveUrl);
  Object.assign(given, siteFlagAnswers(o, ''));
  // What the flags alone show wrong is refused before the first question.
  if (o.site) checkSiteFlags(o, '', parseSite(o.site));
  refuseEdgeFlagsAlone(o);
  type Partial = { site: string; repo?: string; webhook?: string };
  const a = await inquirer.prompt(
    [
      { type: 'input', name: 'name', message: 'Stack name', default: 'local' },
      { type: 'select', name: 'site', message: 'Where do the clusters run?', choices: [
        { name: 'this machine (local processes, no VMs)', value: 'local' },
        { name: 'VMs on a KVM host (libvirt)', value: 'kvm' },
        { name: 'existing hosts over SSH', value: 'ssh' },
      ] },
      ...siteQuestions({ edge: false, clusters: 'core' }),
      { type: 'input', name: 'nodes', message: 'Nodes per cluster', default: '2', validate: check(NODES), when: (x: { site: string }) => x.site === 'local' },
    ] as never,
    given,
  );
  const site = parseSite(String(a['site']));
  // The site chosen at the prompt: flags for questions it did not ask are refused, not dropped.
  checkSiteFlags(o, '', site);
  const more: DraftSiteAnswers[] = [];
  // A mixed estate: more sites after a kvm or ssh one (a local site keeps to this machine).
  const edgeGiven = edgeSiteFromFlags(o, site);
  while (site !== 'local' && ((edgeGiven && more.length === 0) || (await confirm(more.length === 0 ? 'Add another site (e.g. an edge site)?' : 'Add one more site?', false)))) {
    const pre = edgeGiven && more.length === 0 ? edgeGiven : {};
    const m = await inquirer.prompt([
      { type: 'select', name: 'site', message: 'Where does this site run?', choices: [
        { name: 'existing hosts over SSH', value: 'ssh' },
        { name: 'VMs on a KVM host (libvirt)', value: 'kvm' },
      ] },
      ...siteQuestions({ edge: true, clusters: more.length === 0 ? 'edge' : `edge-${more.length + 1}` }),
    ] as never, pre);
    more.push(siteAnswers(m));
  }
  const g = await inquirer.prompt(
    [
      { type: 'input', name: 'repo', message: 'GitOps repository: a URL or a local path (empty: none)', default: '' },
      { type: 'input', name: 'branch', message: 'Branch to follow', default: 'main', when: (x: Partial) => !!x.repo },
      { type: 'input', name: 'path', message: 'Folder of the manifests in the repository', default: '.', when: (x: Partial) => !!x.repo },
      { type: 'select', name: 'webhook', message: 'How does a push reach infra?', choices: WEBHOOK_PROVIDERS.map((p) => ({ name: PROVIDER_TITLES[p], value: p })), when: (x: Partial) => !!x.repo },
      { type: 'input', name: 'serveUrl', message: 'infra serve as the Git server reaches it (http(s)://host:port)', default: DEFAULT_SERVE_URL, validate: (v: string) => serveUrlProblem(v) ?? true, when: (x: Partial) => !!x.repo && x.webhook !== 'none' },
      { type: 'confirm', name: 'withExampleApps', message: 'Deploy the example apps of this repository?', default: true, when: (x: Partial) => x.site === 'local' && !x.repo },
    ] as never,
    { ...pick(given, ['repo', 'branch', 'path', 'webhook', 'serveUrl']), site },
  );
  const repo = String(g['repo'] ?? '').trim();
  const gitops: GitopsAnswers | undefined = repo
    ? { repo, branch: String(g['branch'] ?? 'main'), path: String(g['path'] ?? '.'), webhook: parseProvider(String(g['webhook'] ?? 'none')), serveUrl: parseServeUrl(String(g['serveUrl'] ?? DEFAULT_SERVE_URL)) }
    : undefined;
  const draft: DraftAnswers = {
    name: String(a['name']),
    ...siteAnswers(a),
    nodes: Number(a['nodes'] ?? 2),
    overrides: {},
    withExampleApps: g['withExampleApps'] === true,
    ...(more.length > 0 ? { more } : {}),
  };
  return { draft, gitops };
}

const pick = (o: Record<string, unknown>, keys: readonly string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k)));

/** The questions of one site after its kind: where, its hosts, its clusters, and what decides their add-ons (kvm/ssh only). */
function siteQuestions(d: { edge: boolean; clusters: string }): object[] {
  type Site = { site: string; untrusted?: boolean; sharedStorage?: boolean };
  const remote = (x: Site) => x.site !== 'local';
  return [
    { type: 'input', name: 'uri', message: 'libvirt URI', default: 'qemu:///system', when: (x: Site) => x.site === 'kvm' },
    { type: 'confirm', name: 'edge', message: 'Is it an edge site (small or ARM nodes, few of them)?', default: d.edge, when: remote },
    { type: 'confirm', name: 'unreliableNetwork', message: 'Is the network to it unreliable?', default: false, when: remote },
    { type: 'input', name: 'hosts', message: 'Host addresses (comma-separated)', when: (x: Site) => x.site === 'ssh' },
    { type: 'input', name: 'hosts', message: 'How many VMs?', default: '3', validate: check(VMS), when: (x: Site) => x.site === 'kvm' },
    { type: 'input', name: 'hostMemoryGiB', message: 'Memory per node (GiB)', default: '8', validate: check(MEMORY_GIB), when: remote },
    { type: 'confirm', name: 'arm', message: 'ARM nodes?', default: false, when: (x: Site) => x.site === 'ssh' },
    { type: 'input', name: 'clusters', message: 'Cluster names (comma-separated)', default: d.clusters },
    { type: 'confirm', name: 'untrusted', message: 'Will untrusted workloads run there (third-party code, tenants)?', default: false, when: remote },
    { type: 'confirm', name: 'vmIsolation', message: 'Do they need VM-grade isolation (Kata: a VM per Pod, needs virtualisation on the nodes)?', default: false, when: (x: Site) => remote(x) && x.untrusted === true },
    { type: 'confirm', name: 'l7Policies', message: 'Are L7 network policies needed (rules on HTTP paths and methods)?', default: false, when: remote },
    { type: 'confirm', name: 'sharedStorage', message: 'Is shared storage wanted (volumes that follow a Pod to any node)?', default: false, when: remote },
    { type: 'input', name: 'disks', message: 'Spare disks on every host (comma-separated devices, e.g. /dev/vdb; empty: none)', default: '', validate: (v: string) => diskProblem(v) ?? true, when: (x: Site) => remote(x) && x.sharedStorage === true },
  ];
}

function siteAnswers(a: Record<string, unknown>): DraftSiteAnswers {
  const site = parseSite(String(a['site']));
  return {
    site,
    ...(a['uri'] ? { uri: String(a['uri']) } : {}),
    edge: a['edge'] === true,
    unreliableNetwork: a['unreliableNetwork'] === true,
    hosts: hostList(site, a['hosts'] === undefined ? undefined : String(a['hosts'])),
    ...(a['hostMemoryGiB'] ? { hostMemoryGiB: Number(a['hostMemoryGiB']) } : {}),
    arm: a['arm'] === true,
    clusters: commaList(String(a['clusters'])),
    ...(site === 'local'
      ? {}
      : { addons: { untrusted: a['untrusted'] === true, vmIsolation: a['vmIsolation'] === true, l7Policies: a['l7Policies'] === true, sharedStorage: a['sharedStorage'] === true, disks: diskList(a['disks'] === undefined ? undefined : String(a['disks'])) } }),
  };
}

/**
 * `--edge-hosts` and its flags: the answers of a second site, at the edge, over SSH (pre-answers
 * at the wizard's "Add another site", the site itself with `--yes`); its clusters' choices come
 * from the stack's rules. Its flags without `--edge-hosts` describe no site: refused.
 */
function edgeSiteFromFlags(o: InitOpts, site: SiteKind): Record<string, unknown> | undefined {
  if (!o.edgeHosts) return refuseEdgeFlagsAlone(o);
  if (site === 'local') throw new UsageError('--edge-hosts adds a site next to a kvm or ssh one', { hint: 'pass --site ssh or --site kvm' });
  hostList('ssh', o.edgeHosts); // an empty list is refused before the first question
  checkSiteFlags(o, 'edge-', 'ssh');
  return { site: 'ssh', edge: true, hosts: o.edgeHosts, ...(o.edgeClusters ? { clusters: o.edgeClusters } : {}), ...siteFlagAnswers(o, 'edge-') };
}

function refuseEdgeFlagsAlone(o: InitOpts): undefined {
  const stray = [...(o.edgeClusters ? ['--edge-clusters'] : []), ...siteFlagsGiven(o, 'edge-')];
  if (stray.length > 0 && !o.edgeHosts) throw new UsageError(goWith(stray, '--edge-hosts'), { hint: 'pass --edge-hosts 198.51.100.7,...' });
  return undefined;
}

function diskList(v: string | undefined): string[] {
  const problem = diskProblem(v ?? '');
  if (problem) throw new UsageError(`--disks: ${problem}`);
  return commaList(v ?? '');
}

function gitopsFromFlags(o: InitOpts): GitopsAnswers | undefined {
  if (!o.repo) {
    if (o.branch || o.path || o.webhook || o.serveUrl) throw new UsageError('--branch, --path, --webhook and --serve-url go with --repo', { hint: 'pass --repo URL-or-path' });
    return undefined;
  }
  return { repo: o.repo, branch: o.branch ?? 'main', path: o.path ?? '.', webhook: parseProvider(o.webhook ?? 'none'), serveUrl: parseServeUrl(o.serveUrl ?? DEFAULT_SERVE_URL) };
}

function parseProvider(s: string): WebhookProvider {
  if (!(WEBHOOK_PROVIDERS as readonly string[]).includes(s)) throw new UsageError(`--webhook must be one of ${WEBHOOK_PROVIDERS.join(', ')}, got "${s}"`);
  return s as WebhookProvider;
}

function serveUrlProblem(s: string): string | undefined {
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'use http:// or https://';
    if (u.pathname !== '/' || u.search || u.hash) return 'give only scheme, host and port, e.g. https://infra.example.com:7979';
    return undefined;
  } catch {
    return `not a URL: "${s}" (e.g. http://192.0.2.10:7979)`;
  }
}

function parseServeUrl(s: string): string {
  const problem = serveUrlProblem(s);
  if (problem) throw new UsageError(`--serve-url: ${problem}`);
  return new URL(s).origin;
}

function isUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^/]+:/.test(repo);
}

/** A local repository path as the stack names it: relative to the stack file (the stack resolves it so). */
function stackRelative(stackDir: string, repo: string): string {
  if (isUrl(repo)) return repo;
  const abs = isAbsolute(repo) ? repo : resolve(repo);
  return relative(stackDir, abs) || '.';
}

/**
 * The source's webhook secret: 32 random bytes, hex, in a file only its owner reads. An existing
 * file is kept (the provider already has that secret), its mode tightened.
 */
async function ensureSecret(file: string): Promise<{ file: string; created: boolean }> {
  try {
    await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return { file, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await chmod(file, 0o600);
    return { file, created: false };
  }
}

/**
 * For each site and each default, in order: keep it (first choice, shown with its rule) or pick
 * another allowed value; the answer holds for the site's clusters. Later defaults are worked out
 * again after each answer, since they depend on earlier ones (K3s instead of Kubernetes changes
 * the datastore rule).
 */
async function reviewDefaults(linesFor: (perSite: readonly Record<string, string>[]) => string[], groups: readonly { from: number; to: number; label?: string }[]): Promise<Record<string, string>[]> {
  const { default: inquirer } = await import('inquirer');
  const perSite: Record<string, string>[] = groups.map(() => ({}));
  const allowed: Record<string, readonly string[]> = { distribution: ENUMS.distribution, datastore: ENUMS.datastore, cni: ENUMS.cni, csi: ENUMS.csi };
  for (const [g, group] of groups.entries()) {
    for (const wanted of Object.keys(allowed)) {
      const m = linesFor(perSite)
        .map((l) => /^clusters\[(\d+)\]\.(\w+) = (\S+)\s+\((.*)\)$/.exec(l))
        .find((x) => x && x[2] === wanted && Number(x[1]) >= group.from && Number(x[1]) < group.to);
      if (!m) continue;
      const [, , field = '', value = '', rule = ''] = m;
      const choices = [value, ...(allowed[field] ?? []).filter((v) => v !== value)];
      const message = `${field}: ${value} — ${rule}${group.label ? ` [${group.label}]` : ''}`;
      const answer = await inquirer.prompt([{ type: 'select', name: 'v', message, choices } as never]);
      if (answer['v'] !== value) (perSite[g] as Record<string, string>)[field] = String(answer['v']);
    }
  }
  return perSite;
}

function parseSite(s: string): SiteKind {
  if (!(ENUMS.siteKind as readonly string[]).includes(s)) throw new UsageError(`--site must be local, kvm or ssh, got "${s}"`);
  return s as SiteKind;
}

function hostList(site: SiteKind, hosts: string | undefined): string[] {
  if (site === 'local') return [];
  if (site === 'kvm') {
    const problem = wholeNumberProblem(hosts ?? '3', VMS.min, VMS.max);
    if (problem) throw new UsageError(`--hosts of a kvm site is a VM count: ${problem}`);
    return Array.from({ length: Number(hosts ?? '3') }, (_, i) => `vm-${i + 1}`);
  }
  const list = commaList(hosts ?? '');
  if (list.length === 0) throw new UsageError('an ssh site needs host addresses', { hint: 'pass --hosts 192.0.2.10,192.0.2.11' });
  return list;
}

