import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, tail } from '../../../../clusters/host/command.ts';
import { cacheDir } from '../../../../clusters/host/paths.ts';
import { pathExists } from '../../../../clusters/fs.ts';
import { resolveBinary } from '../../../../clusters/tools/resolver.ts';
import { HostStepError } from '../../binaries/errors.ts';
import { ociArchive } from '../../binaries/oci-archive.ts';
import type { LocalArtifact } from '../../binaries/steps.ts';
import { IMAGE_PATH_ENV, planImages, type ImagePlan } from '../images.ts';

/** What `kubeadm config images list` prints for this config (the real kubeadm, run here). */
export async function listKubeadmImages(kubeadm: string, initConfig: string, signal?: AbortSignal): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-kubeadm-images-'));
  try {
    const file = join(dir, 'init.yaml');
    await writeFile(file, initConfig, { mode: 0o600 });
    const r = await runCommand(kubeadm, ['config', 'images', 'list', '--config', file], signal ? { signal } : {});
    if (r.code !== 0) throw new HostStepError('localhost', 'kubeadm config images list', tail(r.stderr), { hint: 'the generated kubeadm config was refused by kubeadm' });
    return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface BuiltImage {
  readonly plan: ImagePlan & { kind: 'binary' };
  readonly archive: LocalArtifact;
}

/**
 * One OCI archive per image, cached under ~/.cache/infra/images/kubeadm by the digest of the
 * binary and the reference: the same inputs give the same bytes, so hosts that have it skip it.
 */
export async function buildKubeadmImages(listed: readonly string[], options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<{ images: BuiltImage[]; pauseTag: string | undefined }> {
  const env = options.env ?? process.env;
  const images: BuiltImage[] = [];
  let pauseTag: string | undefined;
  for (const plan of planImages(listed)) {
    options.signal?.throwIfAborted();
    if (plan.kind === 'pause') {
      pauseTag = plan.reference;
      continue;
    }
    const binary = await resolveBinary(plan.binary, { env, ...(options.signal ? { signal: options.signal } : {}) });
    const content = await readFile(binary.path);
    const key = createHash('sha256').update(content).update(plan.reference).digest('hex');
    const dir = join(cacheDir(env), 'images', 'kubeadm');
    const path = join(dir, `${plan.binary}-${key.slice(0, 16)}.tar`);
    if (!(await pathExists(path))) {
      await mkdir(dir, { recursive: true });
      const tarball = ociArchive({ reference: plan.reference, architecture: 'amd64', entrypoint: `/usr/local/bin/${plan.binary}`, env: [IMAGE_PATH_ENV], files: [{ name: `usr/local/bin/${plan.binary}`, content, mode: 0o755 }] });
      const partial = `${path}.partial-${process.pid}`;
      await writeFile(partial, tarball);
      await rename(partial, path);
    }
    images.push({ plan, archive: { path, sha256: createHash('sha256').update(await readFile(path)).digest('hex') } });
  }
  return { images, pauseTag };
}
