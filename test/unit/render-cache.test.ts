import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRendered, renderKey, writeRendered } from '../../reconciler/render/render-cache.ts';

const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);
let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('render cache', () => {
  it('writes rendered manifests 0600 in 0700 folders, and closes a folder an older version left open', async () => {
    root = await mkdtemp(join(tmpdir(), 'infra-render-cache-'));
    await mkdir(join(root, 'render', 'ab'), { recursive: true, mode: 0o755 });
    await writeFile(join(root, 'render', 'ab', 'old.json'), '[]', { mode: 0o644 });
    await chmod(join(root, 'render'), 0o755);
    expect(await readRendered(root, 'ab00')).toBeUndefined();
    expect(await mode(join(root, 'render'))).toBe('700');

    const key = renderKey({ chart: 'x' });
    const secret = [{ object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { p: 'x' } }, origin: { file: 's.yaml' } }];
    await writeRendered(root, key, secret);
    expect(await mode(join(root, 'render', key.slice(0, 2)))).toBe('700');
    expect(await mode(join(root, 'render', key.slice(0, 2), `${key}.json`))).toBe('600');
    expect(await readRendered(root, key)).toEqual(secret);
  });

  it('keys renders by their inputs, in any key order', () => {
    expect(renderKey({ a: 1, b: [1, 2] })).toBe(renderKey({ b: [1, 2], a: 1 }));
    expect(renderKey({ a: 1 })).not.toBe(renderKey({ a: 2 }));
  });
});
