import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockHeldError } from '../../clusters/errors.ts';
import { acquireLock } from '../../clusters/host/file-lock.ts';
import { startTimeOf } from '../../clusters/host/process-table.ts';

const CONTENDER = fileURLToPath(new URL('../harness/lock-contender.ts', import.meta.url));

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'infra-lock-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A lock directory left by a process that died (its pid, a start time no live process has). */
async function staleLock(path: string, format: 'pid' | 'pid+start'): Promise<void> {
  const dead = spawnSync('true').pid;
  await mkdir(path);
  await writeFile(join(path, 'owner'), format === 'pid' ? `${dead}\n` : `${dead} 1\n`);
}

/** Starts `n` contender processes, waits until all are ready, then lets them race at once. */
async function race(path: string, n: number): Promise<{ outcomes: string[]; releaseWinner: () => Promise<void> }> {
  const children = Array.from({ length: n }, () => spawn(process.execPath, [CONTENDER, path], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = children.map(() => '');
  const said = (i: number, word: string) =>
    new Promise<void>((resolve) => {
      const check = () => (outputs[i]?.includes(word) ? resolve() : undefined);
      children[i]?.stdout.on('data', (b: Buffer) => {
        outputs[i] += b.toString();
        check();
      });
      check();
    });
  const ready = children.map((_, i) => said(i, 'ready\n'));
  await Promise.all(ready);
  for (const c of children) c.stdin.write('go\n');
  const outcomes = await Promise.all(
    children.map((_, i) => Promise.race([said(i, 'won\n').then(() => 'won'), said(i, 'refused\n').then(() => 'refused'), new Promise<string>((resolve) => children[i]?.on('exit', (code) => resolve(`exit ${code}`)))])),
  );
  const releaseWinner = async () => {
    await Promise.all(children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : (c.on('exit', () => resolve()), c.stdin.end())))));
  };
  return { outcomes, releaseWinner };
}

describe('file locks', () => {
  it('refuses a second holder with the holder named', async () => {
    const path = join(root, 'held');
    const lock = await acquireLock(path, { what: 'cluster "a"', wait: false });
    await expect(acquireLock(path, { what: 'cluster "a"', wait: false })).rejects.toThrow(LockHeldError);
    await expect(acquireLock(path, { what: 'cluster "a"', wait: false })).rejects.toThrow(`locked by process ${process.pid}`);
    expect(await readFile(join(path, 'owner'), 'utf8')).toBe(`${process.pid} ${startTimeOf(process.pid)}\n`);
    await lock.release();
    await (await acquireLock(path, { what: 'cluster "a"', wait: false })).release();
  });

  it('takes over a lock whose holder died (old pid-only owner files too)', async () => {
    for (const format of ['pid', 'pid+start'] as const) {
      const path = join(root, `stale-${format}`);
      await staleLock(path, format);
      const lock = await acquireLock(path, { what: 'x', wait: false });
      await lock.release();
    }
    expect((await readdir(root)).filter((e) => e.startsWith('stale-'))).toEqual([]);
  });

  it('a pid reused by another process does not keep a lock: the start time must match too', async () => {
    const path = join(root, 'reused');
    await mkdir(path);
    await writeFile(join(path, 'owner'), `${process.pid} 1\n`); // our pid, someone else's start time
    await (await acquireLock(path, { what: 'x', wait: false })).release();
  });

  it('of 8 processes racing for one stale lock, exactly one wins, in every round', async () => {
    for (let round = 0; round < 5; round++) {
      const path = join(root, `contended-${round}`);
      await staleLock(path, round % 2 === 0 ? 'pid+start' : 'pid');
      const { outcomes, releaseWinner } = await race(path, 8);
      await releaseWinner();
      expect(outcomes.filter((o) => o === 'won'), `round ${round}: ${outcomes.join(', ')}`).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'refused')).toHaveLength(7);
    }
  }, 120_000);
});
