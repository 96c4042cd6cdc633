import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryUnavailableError } from '../../clusters/errors.ts';
import { resolveBinary } from '../../clusters/tools/resolver.ts';

/** The resolver's search order, with real executables in temporary directories. */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'infra-resolver-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function script(dir: string, name: string, versionLine: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\necho '${versionLine}'\n`);
  await chmod(path, 0o755);
  return path;
}

describe('binary resolver', () => {
  it('prefers $INFRA_BIN_DIR', async () => {
    const path = await script(join(root, 'explicit'), 'kwok', 'anything');
    const r = await resolveBinary('kwok', { env: { INFRA_BIN_DIR: join(root, 'explicit'), PATH: '', INFRA_CACHE_DIR: join(root, 'c1') } });
    expect(r).toMatchObject({ path, source: 'env' });
  });

  it('takes a PATH binary only at the pinned version', async () => {
    await script(join(root, 'old'), 'etcd', 'etcd Version: 3.4.23');
    const good = await script(join(root, 'good'), 'etcd', 'etcd Version: 3.6.16');
    const env = { PATH: `${join(root, 'old')}:${join(root, 'good')}`, INFRA_CACHE_DIR: join(root, 'c2') };
    expect(await resolveBinary('etcd', { env })).toMatchObject({ path: good, source: 'path' });
  });

  it('uses the cache outside the checkout', async () => {
    const cache = join(root, 'c3');
    const path = await script(join(cache, 'bin', 'kube-scheduler-v1.34.4'), 'kube-scheduler', '');
    expect(await resolveBinary('kube-scheduler', { env: { PATH: '', INFRA_CACHE_DIR: cache } })).toMatchObject({ path, source: 'cache' });
  });

  it('says how to provide a binary when nothing has it and go is missing', async () => {
    const attempt = resolveBinary('kwok', { env: { PATH: join(root, 'empty'), INFRA_CACHE_DIR: join(root, 'c4') } });
    await expect(attempt).rejects.toThrow(BinaryUnavailableError);
    await expect(attempt).rejects.toThrow(/kwok v0\.7\.0 not found: it cannot be downloaded \(kwok publishes no checksum and none is pinned for linux\/\w+\) and `go` is not installed/);
  });
});
