import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { pathExists } from '../fs.ts';
import { parseJournal, repairPlan, type RestoreJournal, type RestorePhase } from '../etcd/restore-plan.ts';
import type { Progress } from '../tools/heartbeat.ts';
import { processesMentioning } from '../host/process-table.ts';
import type { ClusterLayout } from './layout.ts';
import { stopProcessGroup } from './processes.ts';

/**
 * The on-disk side of a local cluster's etcd restore (see clusters/etcd/restore-plan.ts):
 * the journal and the three data directories, all beside `etcd/` so every move is a rename
 * on one filesystem. Called with the cluster's lock held.
 */

export interface RestorePaths {
  readonly journal: string;
  readonly fresh: string;
  readonly old: string;
}

export function restorePaths(layout: ClusterLayout): RestorePaths {
  return { journal: `${layout.etcdDataDir}.restore.json`, fresh: `${layout.etcdDataDir}.restore-new`, old: `${layout.etcdDataDir}.restore-old` };
}

export async function readJournal(layout: ClusterLayout): Promise<RestoreJournal | undefined> {
  const text = await readFile(restorePaths(layout).journal, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseJournal(text);
}

/** Writes the journal atomically: a crash leaves the previous phase or the next. */
export async function writeJournal(layout: ClusterLayout, journal: RestoreJournal, phase: RestorePhase): Promise<RestoreJournal> {
  const next = { ...journal, phase };
  const { journal: path } = restorePaths(layout);
  await writeFile(`${path}.tmp`, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  return next;
}

/**
 * Brings an interrupted restore to a consistent state before the cluster starts: rolled back
 * before the restored data was complete, rolled forward after. `stopAll` stops the control
 * plane (it may run on the data about to be moved aside).
 */
export async function repairInterruptedRestore(layout: ClusterLayout, stopAll: () => Promise<unknown>, progress: Progress): Promise<void> {
  const paths = restorePaths(layout);
  // An etcdutl orphaned by a killed restore may still write into the new dir: it goes first
  // (we hold the cluster's lock, so no live restore owns it).
  const orphans = processesMentioning(paths.fresh, new Set(['etcdutl']));
  await Promise.all(orphans.map((pid) => stopProcessGroup(pid, 1_000)));
  if (orphans.length > 0) progress(`local cluster "${layout.name}": stopped ${orphans.length} etcdutl left by an interrupted restore`);
  const journal = await readJournal(layout);
  const dirs = { data: await pathExists(layout.etcdDataDir), fresh: await pathExists(paths.fresh), old: await pathExists(paths.old) };
  const plan = repairPlan(journal, dirs);
  for (const step of plan.steps) {
    switch (step) {
      case 'remove-fresh':
        await rm(paths.fresh, { recursive: true, force: true });
        break;
      case 'stop-all':
        await stopAll();
        break;
      case 'move-data-to-old':
        await rename(layout.etcdDataDir, paths.old);
        break;
      case 'move-fresh-to-data':
        await rename(paths.fresh, layout.etcdDataDir);
        break;
      case 'mark-swapped':
        if (journal) await writeJournal(layout, journal, 'swapped');
        break;
      case 'remove-journal':
        await rm(paths.journal, { force: true });
        break;
    }
  }
  if (plan.says) progress(`local cluster "${layout.name}": ${plan.says}`);
}

/** Once the cluster is up on restored data: the old data and the journal go. */
export async function finishRestore(layout: ClusterLayout): Promise<boolean> {
  const journal = await readJournal(layout);
  if (journal?.phase !== 'swapped') return false;
  const paths = restorePaths(layout);
  await rm(paths.old, { recursive: true, force: true });
  await rm(paths.fresh, { recursive: true, force: true });
  await rm(paths.journal, { force: true });
  return true;
}
