import { access, constants, mkdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { BinaryUnavailableError } from '../errors.ts';
import { runCommand } from '../host/command.ts';
import { acquireLock } from '../host/file-lock.ts';
import { cacheDir } from '../host/paths.ts';
import { DownloadError, type DownloadTimeouts } from './download.ts';
import { buildWithGo, goVersion } from './go-builder.ts';
import { elapsedText, HEARTBEAT_MS, megabytes, withHeartbeat, type Progress } from './heartbeat.ts';
import { releaseArtifact } from './release-artifacts.ts';
import { downloadRelease } from './release-download.ts';
import { binarySpec, type BinaryName, type BinarySpec } from './versions.ts';

export type BinarySource = 'env' | 'path' | 'cache' | 'downloaded' | 'built';

export interface ResolvedBinary {
  readonly name: BinaryName;
  readonly version: string;
  readonly path: string;
  readonly source: BinarySource;
}

/** Builds `spec` into `targetDir/<name>` (the default builds with Go from the module proxy). */
export type Builder = (spec: BinarySpec, targetDir: string, options: { env: NodeJS.ProcessEnv; signal?: AbortSignal }) => Promise<void>;

export interface ResolveOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /** Build when nothing else has the binary and no download is possible (default true). */
  readonly build?: boolean;
  /** Replaces the Go build (tests inject a fast fake). */
  readonly builder?: Builder;
  readonly timeouts?: Partial<DownloadTimeouts>;
  /** How often a long download or build says it is still going (default 10 s). */
  readonly heartbeatMs?: number;
  /** Defaults to this machine's. */
  readonly platform?: { readonly platform: NodeJS.Platform; readonly arch: string };
  /** The Kubernetes version of the kube-* components and the kubelet (default: the pinned one). */
  readonly kubernetesVersion?: string;
  /** Hosts already found unreachable in this run, so the next binary does not wait for them again. */
  readonly unreachable?: Map<string, string>;
}

/**
 * Finds a pinned binary: `$INFRA_BIN_DIR` → PATH (only at the pinned version) → the cache
 * outside the checkout → a release download verified against its published SHA-256 → a
 * build from the Go module proxy → a clear error saying how to provide it.
 */
export async function resolveBinary(name: BinaryName, options: ResolveOptions = {}): Promise<ResolvedBinary> {
  const env = options.env ?? process.env;
  const spec = binarySpec(name, options.kubernetesVersion);
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

  const progress = options.progress ?? (() => {});
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const dir = join(cacheBinDir(env), `${name}-v${spec.version}`);
  await mkdir(cacheBinDir(env), { recursive: true });
  // Another infra process may be downloading or building the same binary: wait, not silently.
  const lock = await withHeartbeat(progress, heartbeatMs, (elapsed) => `  waiting for another infra process to download or build ${name} (${elapsed})…`, () =>
    acquireLock(join(cacheBinDir(env), `${name}-v${spec.version}.lock`), { what: `download or build of ${name}`, wait: true, signal: options.signal }),
  );
  try {
    // Another process may have finished the same work while we waited for the lock.
    if (await isExecutable(cached)) return found(cached, 'cache');

    const missed = await download(spec, dir, env, { ...options, progress, heartbeatMs });
    if (missed === undefined) return found(cached, 'downloaded');
    if (options.build === false) throw unavailable(spec, env, `cannot be downloaded (${missed.why}) and building is disabled`);

    const build: Builder = options.builder ?? buildWithGo$;
    let how = 'a custom builder';
    if (!options.builder) {
      const go = await goVersion(env);
      if (!go) throw unavailable(spec, env, `cannot be downloaded (${missed.why}) and \`go\` is not installed`);
      how = `${go} from the Go module proxy`;
    }
    // One line says both why there was no download and that a build starts instead.
    progress(`${missed.line}: building ${name} v${spec.version} with ${how} (once; cached in ${cacheBinDir(env)})`);
    const started = Date.now();
    await withHeartbeat(progress, heartbeatMs, (elapsed) => `  still building ${name} (${elapsed})…`, () =>
      build(spec, dir, { env, ...(options.signal ? { signal: options.signal } : {}) }),
    );
    progress(`built ${name} v${spec.version} in ${elapsedText(Date.now() - started)}`);
    return found(cached, 'built');
  } finally {
    await lock.release();
  }
}

/** Why no download happened: `why` for an error, `line` for the progress line. */
interface Missed {
  readonly why: string;
  readonly line: string;
}

/**
 * Tries the release download. Returns undefined when the binary is in place, or why no
 * download happened. A checksum mismatch throws.
 */
async function download(
  spec: BinarySpec,
  dir: string,
  env: NodeJS.ProcessEnv,
  options: ResolveOptions & { progress: Progress; heartbeatMs: number },
): Promise<Missed | undefined> {
  const { progress } = options;
  const plan = releaseArtifact(spec.name, options.platform ?? { platform: process.platform, arch: process.arch }, env, spec.version);
  if (plan.kind === 'none') return { why: plan.why, line: `no release download for ${spec.name} (${plan.why})` };
  const { artifact } = plan;
  const host = new URL(artifact.url).host;
  const known = options.unreachable?.get(host);
  if (known) return { why: known, line: `cannot download ${spec.name} (${known})` };
  progress(`downloading ${spec.name} v${spec.version} from ${artifact.url}`);
  const started = Date.now();
  try {
    const bytes = await downloadRelease(spec, artifact, dir, {
      env,
      progress,
      heartbeatMs: options.heartbeatMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    progress(`downloaded ${spec.name} v${spec.version} (${megabytes(bytes)}, SHA-256 verified) in ${elapsedText(Date.now() - started)}`);
    return undefined;
  } catch (err) {
    if (!(err instanceof DownloadError)) throw err;
    if (err.kind === 'unreachable') options.unreachable?.set(err.host, err.message);
    return { why: err.message, line: `cannot download ${spec.name} (${err.message}, after ${elapsedText(Date.now() - started)})` };
  }
}

const buildWithGo$: Builder = async (spec, targetDir, options) => {
  await buildWithGo(spec, join(cacheDir(options.env), 'build', `${spec.name}-v${spec.version}`), targetDir, options);
};

/** Resolves several binaries one after another (builds share Go's build cache, so order matters little). */
export async function resolveBinaries(
  names: readonly BinaryName[],
  options: ResolveOptions = {},
): Promise<Record<BinaryName, ResolvedBinary>> {
  const out: Partial<Record<BinaryName, ResolvedBinary>> = {};
  const shared = { ...options, unreachable: options.unreachable ?? new Map<string, string>() };
  for (const name of names) out[name] = await resolveBinary(name, shared);
  return out as Record<BinaryName, ResolvedBinary>;
}

export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'bin');
}

function cachedPath(spec: BinarySpec, env: NodeJS.ProcessEnv): string {
  return join(cacheBinDir(env), `${spec.name}-v${spec.version}`, spec.name);
}

function unavailable(spec: BinarySpec, env: NodeJS.ProcessEnv, why: string): BinaryUnavailableError {
  return new BinaryUnavailableError(`${spec.name} v${spec.version} not found: it ${why}`, {
    hint: `allow downloads from the release hosts (or set INFRA_RELEASE_MIRROR), or install Go >= 1.24 so infra can build it into ${cacheBinDir(env)}, or put a ${spec.name} v${spec.version} binary in $INFRA_BIN_DIR or on PATH`,
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
