import type { LocalClusterState } from './cluster-state.ts';

/**
 * What to do when the versions a local cluster was made with (cluster.json) differ from the
 * versions infra pins now. Pure. New binaries on old data must be a decision: Kubernetes and
 * etcd upgrade in place one minor version at a time (the upstream skew rules), never down;
 * kwok keeps no data, so any kwok version may replace another.
 */

export interface Pins {
  readonly kubernetesVersion: string;
  readonly etcdVersion: string;
  readonly kwokVersion: string;
}

export interface PinChange {
  readonly component: 'Kubernetes' | 'etcd' | 'kwok';
  readonly from: string;
  readonly to: string;
}

export type PinDecision =
  | { readonly kind: 'same' }
  /** Only stateless components changed: take the new pins and say so. */
  | { readonly kind: 'record'; readonly changes: readonly PinChange[] }
  /** An in-place upgrade is possible; it needs the user's consent (`--upgrade`). */
  | { readonly kind: 'upgrade'; readonly changes: readonly PinChange[] }
  /** No safe path from the recorded versions to the pins. */
  | { readonly kind: 'refuse'; readonly changes: readonly PinChange[]; readonly why: string };

export function decidePins(recorded: Pins, pinned: Pins): PinDecision {
  const changes: PinChange[] = [];
  const push = (component: PinChange['component'], from: string, to: string) => from !== to && changes.push({ component, from, to });
  push('Kubernetes', recorded.kubernetesVersion, pinned.kubernetesVersion);
  push('etcd', recorded.etcdVersion, pinned.etcdVersion);
  push('kwok', recorded.kwokVersion, pinned.kwokVersion);
  if (changes.length === 0) return { kind: 'same' };
  const stateful = changes.filter((c) => c.component !== 'kwok');
  if (stateful.length === 0) return { kind: 'record', changes };
  for (const c of stateful) {
    const why = stepProblem(c);
    if (why) return { kind: 'refuse', changes, why };
  }
  return { kind: 'upgrade', changes };
}

/** Why `from` → `to` is not an in-place upgrade, or undefined if it is one. */
function stepProblem(c: PinChange): string | undefined {
  const from = semver(c.from);
  const to = semver(c.to);
  if (!from || !to) return `${c.component} version "${c.from}" or "${c.to}" is not a version number`;
  const order = compare(to, from);
  if (order < 0) return `${c.component} ${c.to} is older than ${c.from}: downgrades on existing data are not supported`;
  if (to[0] !== from[0] || to[1] - from[1] > 1) return `${c.component} ${c.from} → ${c.to} skips minor versions: upgrade one minor version at a time`;
  return undefined;
}

function semver(v: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

export function describeChanges(changes: readonly PinChange[]): string {
  return changes.map((c) => `${c.component} ${c.from} → ${c.to}`).join(', ');
}

export function pinsOf(state: LocalClusterState): Pins {
  return { kubernetesVersion: state.kubernetesVersion, etcdVersion: state.etcdVersion, kwokVersion: state.kwokVersion };
}
