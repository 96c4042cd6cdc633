/**
 * Crash safety of a restore, as pure decisions. A restore moves through phases recorded in a
 * journal beside the data directory:
 *
 *   restoring  etcdutl writes the new data into `fresh` (may be half written)
 *   restored   `fresh` is complete; the old data is still the live `data`
 *   swapped    `data` holds the restored data, the old data waits in `old` until the
 *              cluster is up on the new data
 *
 * Whatever moment a crash hits, the next run looks at the journal and which directories
 * exist, and either rolls back (before `restored`: the old data was never touched) or rolls
 * forward (from `restored` on). The old data is deleted only after the cluster is up.
 */

export type RestorePhase = 'restoring' | 'restored' | 'swapped';

export interface RestoreJournal {
  readonly phase: RestorePhase;
  /** The snapshot and its digest, so a message can say what was being restored. */
  readonly snapshot: string;
  readonly sha256: string;
  readonly startedAt: string;
}

export interface DataDirs {
  readonly data: boolean;
  readonly fresh: boolean;
  readonly old: boolean;
}

export type RepairStep =
  | 'remove-fresh'
  | 'stop-all'
  | 'move-data-to-old'
  | 'move-fresh-to-data'
  | 'mark-swapped'
  | 'remove-journal';

export interface RepairPlan {
  readonly steps: readonly RepairStep[];
  /** What the repair does, for the progress line; undefined when nothing needs doing. */
  readonly says: string | undefined;
}

/**
 * What to do before anything else on a cluster whose last restore may have been cut short.
 * `swapped` needs no step here: the cluster starts on the restored data and `finishRestore`
 * removes `old` once it is up.
 */
export function repairPlan(journal: RestoreJournal | undefined, dirs: DataDirs): RepairPlan {
  if (!journal) {
    // A journal is written before `fresh` exists, so a `fresh` without one is debris.
    return dirs.fresh ? { steps: ['remove-fresh'], says: 'removed a half-written restore without a journal' } : { steps: [], says: undefined };
  }
  const what = `the interrupted restore of ${journal.snapshot} (started ${journal.startedAt})`;
  switch (journal.phase) {
    case 'restoring':
      return { steps: ['remove-fresh', 'remove-journal'], says: `rolled back ${what}: the cluster keeps its data from before` };
    case 'restored': {
      const steps: RepairStep[] = ['stop-all'];
      if (dirs.data && !dirs.old) steps.push('move-data-to-old');
      if (dirs.fresh && (!dirs.data || !dirs.old)) steps.push('move-fresh-to-data');
      steps.push('mark-swapped');
      return { steps, says: `finished ${what}: the cluster starts on the restored data` };
    }
    case 'swapped':
      return { steps: [], says: undefined };
  }
}

/** Parses the journal file, or undefined when it is not one (treated as absent: nothing was swapped without it). */
export function parseJournal(text: string): RestoreJournal | undefined {
  try {
    const j = JSON.parse(text) as Partial<RestoreJournal>;
    if ((j.phase === 'restoring' || j.phase === 'restored' || j.phase === 'swapped') && typeof j.snapshot === 'string' && typeof j.sha256 === 'string' && typeof j.startedAt === 'string') {
      return { phase: j.phase, snapshot: j.snapshot, sha256: j.sha256, startedAt: j.startedAt };
    }
  } catch {
    // fall through
  }
  return undefined;
}
