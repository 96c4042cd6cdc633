import { writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathExists as exists } from '../../clusters/fs.ts';
import type { Command } from 'commander';
import { draftStack, explainDefaults, renderDraft, type DraftAnswers } from '../../stacks/draft.ts';
import { AbortError, UsageError } from '../../stacks/errors.ts';
import { ENUMS } from '../../stacks/schema.ts';
import { wholeNumber, wholeNumberProblem } from '../options.ts';
import type { SiteKind } from '../../stacks/model.ts';

/**
 * `infra init`: the cluster bootstrap wizard. Asks only what its flags left open, shows the
 * default each rule picks (and why), lets the user override, writes a stack file that
 * validates. `--yes` takes every default without asking (scripts, CI).
 */

/** Bounds of the wizard's numeric answers, for flags and prompts alike. */
const NODES = { min: 0, max: 1000 } as const;
const VMS = { min: 1, max: 100 } as const;
const MEMORY_GIB = { min: 1, max: 4096 } as const;
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
}

export function registerInit(program: Command): void {
  program
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
    .action(async (opts: InitOpts) => {
      if (!opts.force && (await exists(opts.file))) throw new UsageError(`${opts.file} exists`, { hint: 'pass --force to overwrite it, or -f another file' });
      const interactive = !opts.yes;
      if (interactive && !process.stdin.isTTY) {
        throw new UsageError('infra init needs a terminal to ask its questions', { hint: 'pass --yes (and flags such as --site, --clusters) to run without one' });
      }
      const answers = interactive ? await stoppable(ask(opts)) : fromFlags(opts);
      const examplesUrl = relative(dirname(resolve(opts.file)), PROJECT_ROOT) || '.';
      const schema = relative(dirname(resolve(opts.file)), `${PROJECT_ROOT}stacks/stack.schema.json`);
      const textFor = (overrides: Record<string, string>) => renderDraft(draftStack({ ...answers, overrides, examplesUrl }), schema);
      const overrides = interactive ? await stoppable(reviewDefaults((o) => explainDefaults(opts.file, textFor(o)).lines)) : {};
      const text = textFor(overrides);
      const { lines } = explainDefaults(opts.file, text);
      await writeFile(opts.file, text);
      const next = `infra preview -f ${opts.file} && infra up -f ${opts.file}`;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ file: opts.file, defaults: lines, next }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`wrote ${opts.file}\n${lines.length ? `defaults chosen by rule:\n${lines.map((l) => `  ${l}`).join('\n')}\n` : ''}next: ${next}\n`);
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

function fromFlags(o: InitOpts): DraftAnswers {
  const site = parseSite(o.site ?? 'local');
  return {
    name: o.name ?? 'local',
    site,
    ...(o.uri ? { uri: o.uri } : site === 'kvm' ? { uri: 'qemu:///system' } : {}),
    edge: o.edge === true,
    unreliableNetwork: false,
    hosts: hostList(site, o.hosts),
    arm: false,
    clusters: (o.clusters ?? 'core').split(',').map((s) => s.trim()).filter(Boolean),
    nodes: o.nodes ?? 2,
    overrides: {},
    withExampleApps: site === 'local',
  };
}

async function ask(o: InitOpts): Promise<DraftAnswers> {
  const { default: inquirer } = await import('inquirer');
  const given: Record<string, unknown> = {};
  if (o.name) given['name'] = o.name;
  if (o.site) given['site'] = parseSite(o.site);
  if (o.uri) given['uri'] = o.uri;
  if (o.edge) given['edge'] = true;
  if (o.hosts) given['hosts'] = o.hosts;
  if (o.clusters) given['clusters'] = o.clusters;
  if (o.nodes !== undefined) given['nodes'] = String(o.nodes);
  const a = await inquirer.prompt(
    [
      { type: 'input', name: 'name', message: 'Stack name', default: 'local' },
      { type: 'select', name: 'site', message: 'Where do the clusters run?', choices: [
        { name: 'this machine (local processes, no VMs)', value: 'local' },
        { name: 'VMs on a KVM host (libvirt)', value: 'kvm' },
        { name: 'existing hosts over SSH', value: 'ssh' },
      ] },
      { type: 'input', name: 'uri', message: 'libvirt URI', default: 'qemu:///system', when: (x: { site: string }) => x.site === 'kvm' },
      { type: 'confirm', name: 'edge', message: 'Is it an edge site (small or ARM nodes, few of them)?', default: false, when: (x: { site: string }) => x.site !== 'local' },
      { type: 'confirm', name: 'unreliableNetwork', message: 'Is the network to it unreliable?', default: false, when: (x: { site: string }) => x.site !== 'local' },
      { type: 'input', name: 'hosts', message: 'Host addresses (comma-separated)', when: (x: { site: string }) => x.site === 'ssh' },
      { type: 'input', name: 'hosts', message: 'How many VMs?', default: '3', validate: check(VMS), when: (x: { site: string }) => x.site === 'kvm' },
      { type: 'input', name: 'hostMemoryGiB', message: 'Memory per node (GiB)', default: '8', validate: check(MEMORY_GIB), when: (x: { site: string }) => x.site !== 'local' },
      { type: 'confirm', name: 'arm', message: 'ARM nodes?', default: false, when: (x: { site: string }) => x.site === 'ssh' },
      { type: 'input', name: 'clusters', message: 'Cluster names (comma-separated)', default: 'core' },
      { type: 'input', name: 'nodes', message: 'Nodes per cluster', default: '2', validate: check(NODES), when: (x: { site: string }) => x.site === 'local' },
      { type: 'confirm', name: 'withExampleApps', message: 'Deploy the example apps of this repository?', default: true, when: (x: { site: string }) => x.site === 'local' },
    ] as never,
    given,
  );
  const site = parseSite(String(a['site']));
  return {
    name: String(a['name']),
    site,
    ...(a['uri'] ? { uri: String(a['uri']) } : {}),
    edge: a['edge'] === true,
    unreliableNetwork: a['unreliableNetwork'] === true,
    hosts: hostList(site, a['hosts'] === undefined ? undefined : String(a['hosts'])),
    ...(a['hostMemoryGiB'] ? { hostMemoryGiB: Number(a['hostMemoryGiB']) } : {}),
    arm: a['arm'] === true,
    clusters: String(a['clusters']).split(',').map((s) => s.trim()).filter(Boolean),
    nodes: Number(a['nodes'] ?? 2),
    overrides: {},
    withExampleApps: a['withExampleApps'] === true,
  };
}

/**
 * For each default, in order: keep it (first choice, shown with its rule) or pick another
 * allowed value. Later defaults are worked out again after each answer, since they depend on
 * earlier ones (K3s instead of Kubernetes changes the datastore rule).
 */
async function reviewDefaults(linesFor: (overrides: Record<string, string>) => string[]): Promise<Record<string, string>> {
  const { default: inquirer } = await import('inquirer');
  const overrides: Record<string, string> = {};
  const allowed: Record<string, readonly string[]> = { distribution: ENUMS.distribution, datastore: ENUMS.datastore, cni: ENUMS.cni, csi: ENUMS.csi };
  for (const wanted of Object.keys(allowed)) {
    const line = linesFor(overrides).find((l) => new RegExp(`^clusters\\[\\d+\\]\\.${wanted} = `).test(l));
    const m = line ? /^clusters\[\d+\]\.(\w+) = (\S+)\s+\((.*)\)$/.exec(line) : null;
    if (!m) continue;
    const [, field = '', value = '', rule = ''] = m;
    const choices = [value, ...(allowed[field] ?? []).filter((v) => v !== value)];
    const answer = await inquirer.prompt([{ type: 'select', name: 'v', message: `${field}: ${value} — ${rule}`, choices } as never]);
    if (answer['v'] !== value) overrides[field] = String(answer['v']);
  }
  return overrides;
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
  const list = (hosts ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError('an ssh site needs host addresses', { hint: 'pass --hosts 192.0.2.10,192.0.2.11' });
  return list;
}

