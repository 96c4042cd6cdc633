import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { GitSource } from '../../reconciler/source/git-source.ts';
import { GitFixture } from '../harness/git-fixture.ts';

/** `infra serve` fetches one repository for several apps at once: git's lock files must not make any of them fail. */

let repo: GitFixture;
let cache: string;
beforeEach(async () => {
  repo = await GitFixture.create();
  cache = await mkdtemp(join(tmpdir(), 'infra-git-concurrency-'));
});
afterEach(async () => {
  await repo.remove();
  await rm(cache, { recursive: true, force: true });
});

it('concurrent fetches and commit checks of one source all succeed, with the same commit', async () => {
  const sha = await repo.commit({ 'a.yaml': 'x: 1\n' });
  const spec = { name: 'r', url: repo.dir, ref: { branch: 'main' } } as const;
  const fetches = Array.from({ length: 8 }, () => new GitSource(spec, cache).fetch());
  const checks = Array.from({ length: 3 }, () => new GitSource(spec, cache).hasCommit(sha));
  const results = await Promise.allSettled([...fetches, ...checks]);
  expect(results.map((r) => (r.status === 'fulfilled' ? (typeof r.value === 'boolean' ? r.value : r.value.commit) : String(r.reason)))).toEqual([...Array(8).fill(sha), true, true, true]);
  expect(await new GitSource(spec, cache).hasCommit('f'.repeat(40)), 'a commit the repository does not have').toBe(false);
});
