import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LockHeldError } from '../errors.ts';
import { isAlive } from './process-table.ts';

export interface FileLock {
  release(): Promise<void>;
}

/**
 * A lock held by a live process: a directory created atomically with the holder's pid inside.
 * A lock whose holder died (crash, SIGKILL) is stale and taken over, so a crash never wedges
 * the next run.
 */
export async function acquireLock(
  path: string,
  options: { what: string; wait: boolean; signal?: AbortSignal; pollMs?: number },
): Promise<FileLock> {
  for (;;) {
    try {
      await mkdir(path);
      await writeFile(join(path, 'owner'), `${process.pid}\n`);
      return { release: () => rm(path, { recursive: true, force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await lockOwner(path);
    if (owner === 'gone' || (typeof owner === 'number' && !isAlive(owner))) {
      // Stale: the holder is gone. Remove and retry; mkdir arbitrates between racers.
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (!options.wait && owner !== 'starting') {
      throw new LockHeldError(`${options.what} is locked by process ${owner}`, {
        where: path,
        hint: `wait for process ${owner} to finish, or stop it`,
      });
    }
    options.signal?.throwIfAborted();
    await delay(options.pollMs ?? 500, undefined, { signal: options.signal });
  }
}

/** The holder's pid; 'starting' while it is between mkdir and writing its pid; 'gone' if it died there. */
async function lockOwner(path: string): Promise<number | 'starting' | 'gone'> {
  try {
    const pid = Number.parseInt(await readFile(join(path, 'owner'), 'utf8'), 10);
    if (Number.isFinite(pid)) return pid;
  } catch {
    // no owner file yet
  }
  try {
    const age = Date.now() - (await stat(path)).mtimeMs;
    return age > 5_000 ? 'gone' : 'starting';
  } catch {
    return 'gone';
  }
}
