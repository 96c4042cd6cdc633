import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock } from '../../clusters/host/file-lock.ts';

/**
 * Runs of the hook's background reconcile, one at a time, and only the newest waiting one:
 * each push writes its ticket as "wanted", then waits for the lock; a run whose ticket was
 * replaced meanwhile steps aside, since a newer one is queued behind it and will fetch a
 * commit at least as new. A burst of pushes ends with one reconcile of the last commit.
 */

export type RunResult = 'ran' | 'superseded';

export async function runNewest(dir: string, run: () => Promise<void>, signal?: AbortSignal): Promise<RunResult> {
  const wanted = join(dir, 'infra-reconcile.wanted');
  const ticket = `${process.pid}-${randomUUID()}`;
  const tmp = `${wanted}.${ticket}`;
  await writeFile(tmp, ticket);
  await rename(tmp, wanted);
  const lock = await acquireLock(join(dir, 'infra-reconcile.lock'), { what: 'the post-receive reconcile', wait: true, pollMs: 50, ...(signal ? { signal } : {}) });
  try {
    if ((await readFile(wanted, 'utf8')) !== ticket) return 'superseded';
    await run();
    return 'ran';
  } finally {
    await lock.release();
  }
}
