import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, tail } from '../../../clusters/host/command.ts';
import { cacheDir } from '../../../clusters/host/paths.ts';
import { pathExists } from '../../../clusters/fs.ts';
import { resolveBinaries } from '../../../clusters/tools/resolver.ts';
import type { BinaryName } from '../../../clusters/tools/versions.ts';
import { HostStepError } from './errors.ts';
import { ADDON_IMAGES, type AddonImageName } from './node-addons.ts';
import { ociArchive, type TarEntry } from './oci-archive.ts';

/**
 * The add-on images, built here like the pause image (hosts cannot pull): each is one layer
 * holding the pinned binaries built from the Go module proxy, plus (Flannel) a static `cp` for
 * its init containers. Cached by the digest of what goes in, so a new binary gives a new image.
 */

const CP_SOURCE = new URL('./addon-images/cp.c', import.meta.url).pathname;

interface ImagePlan {
  readonly entrypoint: string;
  /** Binary → path inside the image. */
  readonly binaries: readonly (readonly [BinaryName, string])[];
  readonly withCp: boolean;
  /** Files of this machine → paths inside the image (a static binary from a Debian package). */
  readonly machineFiles?: readonly (readonly [string, string])[];
  /** The Debian package that has them, for the error when one is missing. */
  readonly package?: string;
}

/** Paths as the upstream images have them, so manifests written from upstream's docs run unchanged. */
export const IMAGE_PLANS: Readonly<Record<AddonImageName, ImagePlan>> = {
  flannel: { entrypoint: '/opt/bin/flanneld', binaries: [['flanneld', 'opt/bin/flanneld'], ['cni-flannel', 'flannel']], withCp: true },
  'local-path': { entrypoint: '/usr/bin/local-path-provisioner', binaries: [['local-path-provisioner', 'usr/bin/local-path-provisioner']], withCp: false },
  // busybox picks its applet by the name it is run as: one static binary under each name the scripts use.
  busybox: { entrypoint: '/bin/sh', binaries: [], withCp: false, machineFiles: [['/bin/busybox', 'bin/sh'], ['/bin/busybox', 'bin/mkdir'], ['/bin/busybox', 'bin/rm']], package: 'busybox-static' },
};

export function addonImageBinaries(names: readonly AddonImageName[]): BinaryName[] {
  return names.flatMap((n) => IMAGE_PLANS[n].binaries.map(([b]) => b));
}

/** One build per image and process: every node of a cluster plans at once and asks for the same images. */
const building = new Map<string, Promise<string>>();

export function ensureAddonImage(name: AddonImageName, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<string> {
  const key = `${name}:${cacheDir(options.env ?? process.env)}`;
  let p = building.get(key);
  if (!p) {
    p = buildAddonImage(name, options);
    building.set(key, p);
    p.catch(() => building.delete(key));
  }
  return p;
}

async function buildAddonImage(name: AddonImageName, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<string> {
  const env = options.env ?? process.env;
  const plan = IMAGE_PLANS[name];
  const resolved = await resolveBinaries(plan.binaries.map(([b]) => b), { env, ...(options.signal ? { signal: options.signal } : {}) });
  const files: TarEntry[] = [];
  for (const [binary, path] of plan.binaries) files.push({ name: path, content: await readFile(resolved[binary].path), mode: 0o755 });
  if (plan.withCp) files.push({ name: 'bin/cp', content: await staticCp(env, options.signal), mode: 0o755 });
  for (const [from, path] of plan.machineFiles ?? []) files.push({ name: path, content: await machineFile(from, name, plan.package), mode: 0o755 });
  const hash = createHash('sha256').update(ADDON_IMAGES[name]);
  for (const f of files) hash.update(f.name).update(f.content);
  const dir = join(cacheDir(env), 'images', `${name}-${hash.digest('hex').slice(0, 16)}`);
  const archive = join(dir, `${name}.tar`);
  if (await pathExists(archive)) return archive;
  await mkdir(dir, { recursive: true });
  const tarball = ociArchive({ reference: ADDON_IMAGES[name], architecture: 'amd64', entrypoint: plan.entrypoint, env: ['PATH=/opt/bin:/usr/bin:/bin'], files });
  const partial = `${archive}.partial-${process.pid}-${randomUUID()}`;
  await writeFile(partial, tarball);
  await rename(partial, archive);
  return archive;
}

async function machineFile(path: string, image: AddonImageName, pkg: string | undefined): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new HostStepError('localhost', `build the ${image} image`, `${path} is missing on this machine`, { cause: err, hint: `install ${pkg ?? 'the package that has it'} (Debian: apt-get install ${pkg ?? '...'})` });
  }
}

async function staticCp(env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<Buffer> {
  const dir = join(cacheDir(env), 'images', 'build');
  await mkdir(dir, { recursive: true });
  const out = join(dir, `cp.partial-${process.pid}-${randomUUID()}`);
  const cc = await runCommand('gcc', ['-static', '-Os', '-s', '-o', out, CP_SOURCE], { env, ...(signal ? { signal } : {}) });
  if (cc.code !== 0) {
    throw new HostStepError('localhost', 'build the flannel image', `gcc -static failed: ${tail(cc.stderr)}`, { hint: 'install gcc and the static C library (Debian: gcc, libc6-dev)' });
  }
  const content = await readFile(out);
  await rm(out, { force: true });
  return content;
}
