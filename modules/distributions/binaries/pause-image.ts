import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, tail } from '../../../clusters/host/command.ts';
import { cacheDir } from '../../../clusters/host/paths.ts';
import { pathExists } from '../../../clusters/fs.ts';
import { HostStepError } from './errors.ts';
import { PAUSE_IMAGE } from './layout.ts';
import { ociArchive } from './oci-archive.ts';

const SOURCE = new URL('./pause/pause.c', import.meta.url).pathname;

/**
 * The sandbox image every Pod starts with, built here (hosts cannot pull): pause.c compiled
 * statically, packed as an OCI archive, cached by the digest of its source so a new pause.c
 * gives a new image.
 */
export async function ensurePauseImage(env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<string> {
  const source = await readFile(SOURCE);
  const { createHash } = await import('node:crypto');
  const key = createHash('sha256').update(source).update(PAUSE_IMAGE).digest('hex').slice(0, 16);
  const dir = join(cacheDir(env), 'images', `pause-${key}`);
  const archive = join(dir, 'pause.tar');
  if (await pathExists(archive)) return archive;
  await mkdir(dir, { recursive: true });
  const binary = join(dir, `pause.partial-${process.pid}`);
  const cc = await runCommand('gcc', ['-static', '-Os', '-s', '-o', binary, SOURCE], { env, ...(signal ? { signal } : {}) });
  if (cc.code !== 0) {
    throw new HostStepError('localhost', 'build the pause image', `gcc -static failed: ${tail(cc.stderr)}`, { hint: 'install gcc and the static C library (Debian: gcc, libc6-dev)' });
  }
  const tarball = ociArchive({ reference: PAUSE_IMAGE, architecture: 'amd64', entrypoint: '/pause', files: [{ name: 'pause', content: await readFile(binary), mode: 0o755 }] });
  await rm(binary, { force: true });
  const partial = `${archive}.partial-${process.pid}`;
  await writeFile(partial, tarball);
  await rename(partial, archive);
  return archive;
}
