import { access, constants, mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { BinaryUnavailableError } from '../errors.ts';
import { runCommand } from '../host/command.ts';
import { acquireLock } from '../host/file-lock.ts';
import { buildWithGo, goVersion, type Progress } from './go-builder.ts';
import { cacheDir } from '../host/paths.ts';
import { BINARIES, type BinaryName, type BinarySpec } from './versions.ts';

export type BinarySource = 'env' | 'path' | 'cache' | 'built';

export interface ResolvedBinary {
  readonly name: BinaryName;
  readonly version: string;
  readonly path: string;
  readonly source: BinarySource;
}

export interface ResolveOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /** Build with Go when nothing else has the binary (default true). */
  readonly build?: boolean;
}

/**
 * Finds a pinned binary: `$INFRA_BIN_DIR` → PATH (only at the pinned version) → the cache
 * outside the checkout → a build from the Go module proxy → a clear error saying how to
 * provide it.
 */
export async function resolveBinary(name: BinaryName, options: ResolveOptions = {}): Promise<ResolvedBinary> {
  const env = options.env ?? process.env;
  const spec = BINARIES[name];
  const found = (path: string, source: BinarySource): ResolvedBinary => ({ name, version: spec.version, path, source });

  const explicitDir = env['INFRA_BIN_DIR'];
  if (explicitDir) {
    const candidate = join(explicitDir, name);
    if (await isExecutable(candidate)) return found(candidate, 'env');
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if ((await isExecutable(candidate)) && (await reportsVersion(candidate, spec, env))) return found(candidate, 'path');
  }
  const cached = cachedPath(spec, env);
  if (await isExecutable(cached)) return found(cached, 'cache');
  if (options.build === false) throw unavailable(spec, env, 'building is disabled');

  const go = await goVersion(env);
  if (!go) throw unavailable(spec, env, '`go` is not installed');
  const progress = options.progress ?? (() => {});
  await mkdir(cacheBinDir(env), { recursive: true });
  const lock = await acquireLock(join(cacheBinDir(env), `${name}-v${spec.version}.lock`), { what: `build of ${name}`, wait: true, signal: options.signal });
  try {
    // Another process may have finished the same build while we waited for the lock.
    if (await isExecutable(cached)) return found(cached, 'cache');
    progress(`building ${name} v${spec.version} with ${go} from the Go module proxy (once; cached in ${cacheBinDir(env)})`);
    const started = Date.now();
    const dir = join(cacheBinDir(env), `${name}-v${spec.version}`);
    await buildWithGo(spec, join(cacheDir(env), 'build', `${name}-v${spec.version}`), dir, {
      env,
      progress,
      signal: options.signal,
    });
    progress(`built ${name} v${spec.version} in ${Math.round((Date.now() - started) / 1000)}s`);
    return found(cached, 'built');
  } finally {
    await lock.release();
  }
}

/** Resolves several binaries one after another (builds share Go's build cache, so order matters little). */
export async function resolveBinaries(
  names: readonly BinaryName[],
  options: ResolveOptions = {},
): Promise<Record<BinaryName, ResolvedBinary>> {
  const out: Partial<Record<BinaryName, ResolvedBinary>> = {};
  for (const name of names) out[name] = await resolveBinary(name, options);
  return out as Record<BinaryName, ResolvedBinary>;
}

export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'bin');
}

function cachedPath(spec: BinarySpec, env: NodeJS.ProcessEnv): string {
  return join(cacheBinDir(env), `${spec.name}-v${spec.version}`, spec.name);
}

function unavailable(spec: BinarySpec, env: NodeJS.ProcessEnv, why: string): BinaryUnavailableError {
  return new BinaryUnavailableError(`${spec.name} v${spec.version} not found and ${why}`, {
    hint: `install Go >= 1.24 so infra can build it into ${cacheBinDir(env)}, or put a ${spec.name} v${spec.version} binary in $INFRA_BIN_DIR or on PATH`,
  });
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function reportsVersion(path: string, spec: BinarySpec, env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    const r = await runCommand(path, spec.versionArgs, { env });
    return spec.versionPattern.exec(r.stdout + r.stderr)?.[1] === spec.version;
  } catch {
    return false;
  }
}
