import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileHealthStore } from '../../clusters/health/health-store.ts';
import { HealthStoreError } from '../../clusters/health/health-errors.ts';
import { writeFile } from 'node:fs/promises';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function storeIn(): Promise<FileHealthStore> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-health-'));
  dirs.push(dir);
  return new FileHealthStore(join(dir, 'state', 'health.json'));
}

describe('FileHealthStore (no management cluster)', () => {
  it('keeps clocks across instances in a 0600 file, several clusters saved at once', async () => {
    const store = await storeIn();
    await Promise.all([
      store.save({ cluster: 'b', state: 'Unknown', since: 2_000, unhealthySince: 1_500, reachable: false }),
      store.save({ cluster: 'a', state: 'Ready', since: 1_000, readySince: 1_000, reachable: true, latencyMs: 3 }),
    ]);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    const again = await new FileHealthStore(store.path).load();
    expect([...again.keys()]).toEqual(['a', 'b']);
    expect(again.get('a')).toEqual({ cluster: 'a', state: 'Ready', since: 1_000, readySince: 1_000, reachable: false });
    expect(again.get('b')).toEqual({ cluster: 'b', state: 'Unknown', since: 2_000, unhealthySince: 1_500, reachable: false });
    expect(await readFile(store.path, 'utf8')).not.toContain('latency');
  });

  it('an empty store is no error; a corrupt one is a HealthStoreError naming the file', async () => {
    const store = await storeIn();
    expect((await store.load()).size).toBe(0);
    await store.save({ cluster: 'a', state: 'Ready', since: 1, reachable: true });
    await writeFile(store.path, '{ not json');
    await expect(store.load()).rejects.toThrow(HealthStoreError);
  });
});
