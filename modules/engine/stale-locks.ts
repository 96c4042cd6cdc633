import { readFile, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, startedAt } from '../../clusters/host/process-table.ts';

/**
 * A `pulumi` process killed mid-operation (Ctrl-C, crash) leaves its lock in a file backend,
 * and every later operation then fails as "being updated". While we hold infra's own stack lock
 * no other infra process runs it, so a backend lock whose process is dead on this host is
 * stale: remove it — also when its pid now belongs to a process that started after the lock
 * was written (a reused pid). Locks of live writers or of other hosts are left alone.
 */
export async function removeStaleLocks(backendUrl: string, project: string, stack: string): Promise<number> {
  if (!backendUrl.startsWith('file://')) return 0;
  const dir = join(fileURLToPath(backendUrl), '.pulumi', 'locks');
  let removed = 0;
  let orgs: string[];
  try {
    orgs = await readdir(dir);
  } catch {
    return 0;
  }
  for (const org of orgs) {
    const stackDir = join(dir, org, project, stack);
    let files: string[];
    try {
      files = await readdir(stackDir);
    } catch {
      continue;
    }
    for (const f of files.filter((x) => x.endsWith('.json'))) {
      try {
        const lock = JSON.parse(await readFile(join(stackDir, f), 'utf8')) as { pid?: number; hostname?: string; timestamp?: string };
        if (lock.hostname !== hostname() || typeof lock.pid !== 'number' || writerAlive(lock.pid, lock.timestamp)) continue;
      } catch {
        continue;
      }
      await rm(join(stackDir, f), { force: true });
      await rm(join(stackDir, `${f}.attrs`), { force: true });
      removed++;
    }
  }
  return removed;
}

/** True if `pid` runs and is the process that wrote a lock at `timestamp` (not a later one that reuses the pid). */
export function writerAlive(pid: number, timestamp: string | undefined): boolean {
  if (!isAlive(pid)) return false;
  const written = timestamp ? Date.parse(timestamp) : Number.NaN;
  const started = startedAt(pid);
  // Start times are known to 10 ms and clocks step: allow a second of slack.
  return Number.isNaN(written) || started === undefined || started.getTime() <= written + 1_000;
}
