import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LockHeldError } from '../errors.ts';
import { isAlive, isSameProcess, startTimeOf } from './process-table.ts';

export interface FileLock {
  release(): Promise<void>;
}

/**
 * A lock held by a live process: a directory that appears atomically, already holding its
 * owner (pid and process start time, so a reused pid is never taken for the holder), by
 * renaming a prepared directory into place. A lock whose holder died (crash, SIGKILL) is
 * stale and taken over — atomically: the right to remove one particular stale lock is
 * itself claimed inside that lock directory (`<lock>/takeover`, again by an atomic rename),
 * so of many processes that see the same dead owner exactly one removes it, and nobody can
 * remove a fresh lock taken in the meantime. A claimer that dies is taken over the same way
 * one level down (`<lock>/takeover/takeover`).
 */
export async function acquireLock(
  path: string,
  options: { what: string; wait: boolean; signal?: AbortSignal; pollMs?: number },
): Promise<FileLock> {
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    options.signal?.throwIfAborted();
    if ((await placeOwnedDir(path)) === 'placed') return { release: () => release(path) };
    const owner = await readOwner(path);
    if (owner === undefined) continue; // released meanwhile: try again at once
    if (!ownerAlive(owner)) {
      // Someone else may be removing it right now: then give them a moment.
      if ((await takeOverStale(path, owner)) === 'busy') await delay(20, undefined, { signal: options.signal });
      continue;
    }
    if (owner.text === OWNERLESS_STARTING) {
      // An older infra between creating the lock and naming itself: it will, in a moment.
      await delay(50, undefined, { signal: options.signal });
      continue;
    }
    if (!options.wait) {
      throw new LockHeldError(`${options.what} is locked by process ${owner.pid}`, {
        where: path,
        hint: `wait for process ${owner.pid} to finish, or stop it`,
      });
    }
    await delay(options.pollMs ?? 500, undefined, { signal: options.signal });
  }
}

/** Who holds a lock: pid and start time (absent in locks written by older infra versions). */
interface Owner {
  readonly pid: number;
  readonly startTime?: string;
  /** The raw text, to tell one owner record from another. */
  readonly text: string;
}

const OWNER_FILE = 'owner';
const TAKEOVER_DIR = 'takeover';
/** A lock directory with no owner file (a crash inside an older version's mkdir-then-write) is stale after this. */
const OWNERLESS_STALE_MS = 5_000;
const OWNERLESS_STARTING = 'none (starting)';

function ownerText(): string {
  return `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`;
}

/** Creates `path` as a directory already holding our owner file, unless it exists (or its parent is gone). */
async function placeOwnedDir(path: string): Promise<'placed' | 'exists' | 'no-parent'> {
  const tmp = `${path}.new-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await mkdir(tmp);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'no-parent';
    throw err;
  }
  try {
    await writeFile(join(tmp, OWNER_FILE), ownerText());
    await rename(tmp, path);
    return 'placed';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR') return 'exists';
    if (code === 'ENOENT') return 'no-parent';
    throw err;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The owner of the lock at `path`; undefined if there is no lock any more. */
async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const text = await readFile(join(path, OWNER_FILE), 'utf8');
    const [pid = '', startTime = ''] = text.trim().split(/\s+/);
    return { pid: Number.parseInt(pid, 10), ...(startTime ? { startTime } : {}), text };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    const age = Date.now() - (await stat(path)).mtimeMs;
    // No owner file: an older version between mkdir and writing, or one that crashed there.
    return { pid: Number.NaN, text: age > OWNERLESS_STALE_MS ? 'none (stale)' : OWNERLESS_STARTING };
  } catch {
    return undefined;
  }
}

function ownerAlive(owner: Owner): boolean {
  if (Number.isNaN(owner.pid)) return owner.text === OWNERLESS_STARTING;
  if (owner.startTime) return isSameProcess(owner.pid, owner.startTime);
  return isAlive(owner.pid);
}

/**
 * Removes the lock at `path` if it is still the stale one owned by `stale`, after claiming
 * the sole right to do so inside it. Returns when the caller should try to acquire again.
 */
async function takeOverStale(path: string, stale: Owner): Promise<'done' | 'busy'> {
  let level = path;
  // Find the first level whose claim is free or dead, and claim it.
  for (let depth = 0; depth < 16; depth++) {
    const claim = join(level, TAKEOVER_DIR);
    const placed = await placeOwnedDir(claim);
    if (placed === 'no-parent') return 'done'; // the lock went away meanwhile
    if (placed === 'placed') {
      // Ours. Nobody else can now remove this lock instance: check it is the stale one we judged.
      const now = await readOwner(path);
      if (now?.text === stale.text && !ownerAlive(now)) {
        await release(path);
      } else {
        // The lock was replaced between our read and our claim: withdraw the claim we put into a live lock.
        const mine = await readOwner(claim);
        if (mine?.text === ownerText()) await release(claim);
      }
      return 'done';
    }
    const claimer = await readOwner(claim);
    if (claimer === undefined) return 'done'; // the lock went away meanwhile
    if (ownerAlive(claimer)) return 'busy'; // another process is taking it over
    level = claim; // the claimer died mid-takeover: claim its claim
  }
  return 'busy';
}

/** Removes a lock directory atomically (rename first), so no one ever sees it half removed. */
async function release(path: string): Promise<void> {
  const gone = join(dirname(path), `${basename(path)}.gone-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    await rename(path, gone);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await rm(gone, { recursive: true, force: true });
}
