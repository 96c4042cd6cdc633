import { createHash } from 'node:crypto';
import type { ClusterPki } from './cluster-pki.ts';
import { controlPlaneFiles, workerFiles } from './host-files.ts';
import { controlPlaneSteps, workerSteps, type Artifacts, type Step } from './steps.ts';
import type { BinariesTopology } from './topology.ts';

export type MemberRole = 'control-plane' | 'node';

/** What the resource of one host's role in a cluster plans from: plain data, the PKI a secret. */
export interface MemberPlanInput {
  readonly role: MemberRole;
  readonly host: string;
  readonly topology: BinariesTopology;
  readonly pki: ClusterPki;
  readonly cgroupDriver: 'systemd' | 'cgroupfs';
}

export function memberSteps(m: MemberPlanInput, artifacts: Artifacts): Step[] {
  const t = m.topology;
  if (m.role === 'control-plane') {
    const host = t.controlPlanes.find((h) => h.name === m.host);
    if (!host) throw new Error(`${m.host} is not a control-plane host of ${t.cluster}`);
    return controlPlaneSteps(host, controlPlaneFiles(t, host, m.pki), artifacts);
  }
  const node = t.workers.find((h) => h.name === m.host);
  if (!node) throw new Error(`${m.host} is not a node of ${t.cluster}`);
  return workerSteps(t, node, workerFiles(t, node, m.pki, { cgroupDriver: m.cgroupDriver }), artifacts);
}

/** A digest of what the steps would make the host (content by its hash, so no secret is kept twice). */
export function planDigest(steps: readonly Step[]): string {
  const shape = steps.map((s) => ({ id: s.id, check: s.check, apply: s.apply.map((a) => (a.kind === 'run' ? a : { path: a.path, mode: a.mode, sha256: a.sha256 })) }));
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex');
}

/**
 * One read-only script that runs every check of `steps` and prints `ok <id>` or `no <id>`:
 * a refresh costs one round trip per host instead of one per step. Wait steps are left out.
 */
export function batchCheckScript(steps: readonly Step[]): string {
  return steps
    .filter((s) => s.apply.length > 0)
    .map((s) => `if ( ${s.check} ) >/dev/null 2>&1; then echo 'ok ${s.id}'; else echo 'no ${s.id}'; fi`)
    .join('\n');
}

/** The steps whose check failed, from batchCheckScript's output. */
export function stepsOutOfPlace(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('no '))
    .map((l) => l.slice(3));
}

/**
 * What `up` would run on a host, as `preview` shows it: the steps the new plan changes (or
 * adds), the steps whose check failed at the refresh (drifted), and the restarts those force,
 * in the order they would run. Pure.
 */
export function pendingSteps(before: readonly Step[], after: readonly Step[], drifted: readonly string[]): string[] {
  const shape = (s: Step) => planDigest([s]);
  const old = new Map(before.map((s) => [s.id, shape(s)]));
  const changed = new Set<string>();
  const lines: string[] = [];
  for (const s of after) {
    if (s.apply.length === 0) continue;
    const planned = old.get(s.id) !== shape(s);
    const forced = (s.rerunAfter ?? []).some((id) => changed.has(id));
    if (planned) lines.push(`${s.title} (changed)`);
    else if (drifted.includes(s.id)) lines.push(`${s.title} (drifted)`);
    else if (forced) lines.push(s.title.replace(/^start /, 'restart '));
    else continue;
    changed.add(s.id);
  }
  return lines;
}
