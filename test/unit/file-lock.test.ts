import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockHeldError } from '../../clusters/errors.ts';
import { acquireLock } from '../../clusters/host/file-lock.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'infra-lock-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('file locks', () => {
  it('refuses a second holder with the holder named', async () => {
    const path = join(root, 'held');
    const lock = await acquireLock(path, { what: 'cluster "a"', wait: false });
    await expect(acquireLock(path, { what: 'cluster "a"', wait: false })).rejects.toThrow(LockHeldError);
    await expect(acquireLock(path, { what: 'cluster "a"', wait: false })).rejects.toThrow(`locked by process ${process.pid}`);
    await lock.release();
    await (await acquireLock(path, { what: 'cluster "a"', wait: false })).release();
  });

  it('takes over a lock whose holder died', async () => {
    const path = join(root, 'stale');
    const dead = spawnSync('true').pid;
    await mkdir(path);
    await writeFile(join(path, 'owner'), `${dead}\n`);
    const lock = await acquireLock(path, { what: 'x', wait: false });
    await lock.release();
  });
});
