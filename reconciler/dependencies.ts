import type { AppSpec } from '../stacks/gitops.ts';
import type { AppRecord } from './status/app-record.ts';
import type { StatusError } from './types.ts';

/**
 * `dependsOn` when a round holds only some apps (`infra reconcile --app`, a job of `infra serve`):
 * a dependency outside the round was applied by its own round, so its record in the target
 * cluster says whether it is ready there. Only Synced and Healthy lets the dependent go on, as
 * for a dependency reconciled in the same round; no record means never applied there.
 */

/** The apps `round` depends on that it does not hold, by name (from every app of the stack). */
export function outsideDependencies(every: readonly AppSpec[], round: readonly AppSpec[]): Map<string, AppSpec> {
  const inRound = new Set(round.map((a) => a.name));
  const byName = new Map(every.map((a) => [a.name, a] as const));
  const out = new Map<string, AppSpec>();
  for (const app of round) {
    for (const d of app.dependsOn) {
      const dep = byName.get(d);
      if (dep && !inRound.has(d)) out.set(d, dep);
    }
  }
  return out;
}

/** Why `app` must wait for `dep` on a cluster, from the dependency's record there; undefined: ready. */
export function dependencyBlocker(dep: string, record: AppRecord): StatusError | undefined {
  const s = record.corrupt || record.ownedBy ? undefined : record.status;
  if (s && s.sync !== 'Failed' && s.health === 'Healthy') return undefined;
  const now = record.corrupt ? 'its record is corrupt' : record.ownedBy ? `the name is stack "${record.ownedBy}"'s` : s ? `its last round left it ${s.sync === 'Failed' ? `Failed (${s.error?.reason ?? 'unknown'})` : s.health}` : 'it was never applied here';
  return { reason: 'DependencyNotReady', message: `waits for app "${dep}" to be Synced and Healthy (${now})` };
}
