import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource } from '../../reconciler/source/git-source.ts';
import { GitFixture } from '../harness/git-fixture.ts';

/** `infra serve` reconciles several apps of one source at once: their fetches share one mirror. */
describe('git source fetches in one process', () => {
  let repo: GitFixture;
  let cache: string;
  beforeAll(async () => {
    repo = await GitFixture.create();
    cache = await mkdtemp(join(tmpdir(), 'infra-git-turns-'));
  });
  afterAll(async () => {
    await repo.remove();
    await rm(cache, { recursive: true, force: true });
  });

  it('eight fetches of one mirror at once all succeed, after every new commit', async () => {
    const spec = { name: 'repo', url: repo.dir, ref: { branch: 'main' } } as const;
    for (let round = 0; round < 3; round++) {
      const commit = await repo.commit({ 'a.yaml': `round: ${round}\n` });
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => new GitSource(spec, cache).fetch()));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value.commit : ''))).toEqual(Array(8).fill(commit));
    }
  });
});
