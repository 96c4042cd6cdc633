import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAddonImage } from '../../modules/distributions/binaries/addon-images.ts';

/** The add-on images are built from the binaries infra resolved (here: stand-ins in $INFRA_BIN_DIR). */

let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'addon-images-'));
  const bin = join(dir, 'bin');
  await mkdir(bin);
  for (const name of ['flanneld', 'cni-flannel']) await writeFile(join(bin, name), `#!/bin/sh\necho ${name}\n`, { mode: 0o755 });
  env = { ...process.env, INFRA_BIN_DIR: bin, INFRA_CACHE_DIR: join(dir, 'cache'), INFRA_OFFLINE: '1' };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('add-on images', () => {
  it('builds the flannel image once when every node asks at the same time (no race on a partial file)', async () => {
    const archives = await Promise.all([1, 2, 3].map(() => ensureAddonImage('flannel', { env })));
    expect(new Set(archives).size).toBe(1);
    const files = execFileSync('tar', ['-tf', archives[0]!], { encoding: 'utf8' }).split('\n');
    expect(files).toContain('index.json');
    const layer = files.filter((f) => f.startsWith('blobs/sha256/'));
    const listed = layer.map((b) => { try { return execFileSync('sh', ['-c', `tar -xOf '${archives[0]}' '${b}' | tar -tf - 2>/dev/null`], { encoding: 'utf8' }); } catch { return ''; } }).join('');
    expect(listed.split('\n').sort()).toEqual(expect.arrayContaining(['bin/cp', 'flannel', 'opt/bin/flanneld']));
  });
});
