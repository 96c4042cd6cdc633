import type { Command } from 'commander';
import { UsageError } from '../stacks/errors.ts';
import type { SiteKind } from '../stacks/model.ts';
import { wholeNumberProblem } from './options.ts';

/**
 * The questions of a site that `infra init` answers from flags, one table for every site flags
 * describe: the first (`--untrusted`) and the mixed estate's edge site (`--edge-untrusted`). A
 * flag gives the answer its prompt would give, under the question's name (init.ts
 * `siteQuestions`), so `--yes` and the wizard build a site from one set of answers: the same
 * answers give the same file.
 */

/** `''`: the first site; `'edge-'`: the `--edge-hosts` site. */
export type SitePrefix = '' | 'edge-';

export const MEMORY_GIB = { min: 1, max: 4096 } as const;

interface SiteFlag {
  /** The question's name, and the key of its answer. */
  readonly answer: string;
  /** After the site's prefix: `untrusted` → `--untrusted`, `--edge-untrusted`. */
  readonly flag: string;
  /** The value it takes (boolean flags take none). */
  readonly value?: string;
  readonly help: (site: string) => string;
  /** The kinds of site that ask the question. */
  readonly sites: readonly SiteKind[];
  /** A problem with the value, as the prompt's validation says it. */
  readonly problem?: (value: string) => string | undefined;
}

const REMOTE: readonly SiteKind[] = ['kvm', 'ssh'];

const SITE_FLAGS: readonly SiteFlag[] = [
  { answer: 'unreliableNetwork', flag: 'unreliable-network', help: (s) => `the network to ${s} is unreliable`, sites: REMOTE },
  { answer: 'hostMemoryGiB', flag: 'memory', value: '<GiB>', help: (s) => `memory per node of ${s}, in GiB`, sites: REMOTE, problem: (v) => wholeNumberProblem(v, MEMORY_GIB.min, MEMORY_GIB.max) },
  { answer: 'arm', flag: 'arm', help: (s) => `the hosts of ${s} are ARM`, sites: ['ssh'] },
  { answer: 'untrusted', flag: 'untrusted', help: (s) => `untrusted workloads run on ${s}: gVisor RuntimeClass`, sites: REMOTE },
  { answer: 'vmIsolation', flag: 'vm-isolation', help: (s) => `the workloads of ${s} need VM-grade isolation: Kata RuntimeClass`, sites: REMOTE },
  { answer: 'l7Policies', flag: 'l7-policies', help: (s) => `L7 network policies are needed on ${s}: security strict → Cilium`, sites: REMOTE },
  { answer: 'sharedStorage', flag: 'shared-storage', help: (s) => `shared storage is wanted on ${s}: Rook-Ceph when 3+ hosts have spare disks`, sites: REMOTE },
  { answer: 'disks', flag: 'disks', value: '<list>', help: (s) => `comma-separated spare block devices on every host of ${s}, e.g. /dev/vdb`, sites: REMOTE, problem: (v) => diskProblem(v) },
];

const SITE_NAMES: Readonly<Record<SitePrefix, string>> = { '': 'the site', 'edge-': 'the --edge-hosts site' };

const flagName = (prefix: SitePrefix, f: SiteFlag): string => `--${prefix}${f.flag}`;
/** Commander's property for a flag: `--edge-vm-isolation` → `edgeVmIsolation`. */
const propertyOf = (prefix: SitePrefix, f: SiteFlag): string => `${prefix}${f.flag}`.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const valueOf = (opts: object, prefix: SitePrefix, f: SiteFlag): unknown => (opts as Record<string, unknown>)[propertyOf(prefix, f)];

export function addSiteFlags(command: Command, prefix: SitePrefix): Command {
  for (const f of SITE_FLAGS) {
    // The edge site is over SSH: only the first site's kind may lack a question.
    const kinds = prefix === '' ? ` (${f.sites.join('/')} sites)` : '';
    command.option(`${flagName(prefix, f)}${f.value ? ` ${f.value}` : ''}`, `${f.help(SITE_NAMES[prefix])}${kinds}`);
  }
  return command;
}

/** The flags of the site given on the command line, as typed. */
export function siteFlagsGiven(opts: object, prefix: SitePrefix): string[] {
  return SITE_FLAGS.filter((f) => valueOf(opts, prefix, f) !== undefined).map((f) => flagName(prefix, f));
}

/**
 * The site's answers its flags give, as its prompts would return them (`true`, or the text typed),
 * by question name: pre-answers for the wizard, and with `--yes` the answers themselves.
 */
export function siteFlagAnswers(opts: object, prefix: SitePrefix): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of SITE_FLAGS) {
    const v = valueOf(opts, prefix, f);
    if (v === undefined) continue;
    if (!f.value) {
      out[f.answer] = true;
      continue;
    }
    const problem = f.problem?.(String(v));
    if (problem) throw new UsageError(`${flagName(prefix, f)}: ${problem}`);
    out[f.answer] = commaList(String(v)).join(',');
  }
  return out;
}

/** Refuses flags answering questions a site of this kind does not ask (local clusters have no hosts to describe). */
export function checkSiteFlags(opts: object, prefix: SitePrefix, site: SiteKind): void {
  const stray = SITE_FLAGS.filter((f) => valueOf(opts, prefix, f) !== undefined && !f.sites.includes(site));
  if (stray.length === 0) return;
  const kinds = [...new Set(stray.flatMap((f) => f.sites))].sort();
  const hint = site === 'local' ? 'local clusters have fake (kwok) nodes: pass --site ssh or --site kvm' : `pass ${kinds.map((k) => `--site ${k}`).join(' or ')}`;
  const article = kinds[0] === 'ssh' ? 'an' : 'a';
  throw new UsageError(goWith(stray.map((f) => flagName(prefix, f)), `${article} ${kinds.join(' or ')} site`), { hint });
}

/** `--a goes with X`, `--a, --b and --c go with X`: what a UsageError says of flags given alone. */
export function goWith(flags: readonly string[], what: string): string {
  const list = flags.length <= 1 ? (flags[0] ?? '') : `${flags.slice(0, -1).join(', ')} and ${flags[flags.length - 1]}`;
  return `${list} ${flags.length > 1 ? 'go' : 'goes'} with ${what}`;
}

export function diskProblem(v: string): string | undefined {
  const bad = commaList(String(v)).find((d) => !/^\/dev\/[A-Za-z0-9/_.-]+$/.test(d));
  return bad === undefined ? undefined : `"${bad}" is not a device path (e.g. /dev/vdb)`;
}

/** `a, b,,c` → [a, b, c]: the comma-separated answers and flags of the wizard. */
export function commaList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}
