import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startedAt } from '../../clusters/host/process-table.ts';
import { removeStaleLocks } from '../../modules/engine/stale-locks.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'infra-engine-locks-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('stale Pulumi backend locks', () => {
  it('knows when this process started', () => {
    const t = startedAt(process.pid)?.getTime() ?? 0;
    expect(Math.abs(t - (Date.now() - process.uptime() * 1000))).toBeLessThan(2_000);
  });

  it('removes locks of dead writers and of reused pids, keeps the live writer', async () => {
    const dir = join(root, '.pulumi', 'locks', 'organization', 'infra', 'demo');
    await mkdir(dir, { recursive: true });
    const lock = (pid: number, timestamp: string) => JSON.stringify({ pid, hostname: hostname(), username: 'u', timestamp });
    const before = new Date(Date.now() - process.uptime() * 1000 - 3_600_000).toISOString();
    await writeFile(join(dir, 'dead.json'), lock(spawnSync('true').pid, new Date().toISOString()));
    await writeFile(join(dir, 'reused.json'), lock(process.pid, before)); // our pid, written an hour before we started
    await writeFile(join(dir, 'live.json'), lock(process.pid, new Date().toISOString()));
    expect(await removeStaleLocks(pathToFileURL(root).href, 'infra', 'demo')).toBe(2);
    expect(await readdir(dir)).toEqual(['live.json']);
  });
});
