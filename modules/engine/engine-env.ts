import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathExists } from '../../clusters/fs.ts';
import { resolveBinary } from '../../clusters/tools/resolver.ts';
import { cacheDir, infraHome } from '../../clusters/host/paths.ts';
import type { Progress } from '../../clusters/tools/heartbeat.ts';

/**
 * Everything the Pulumi engine needs to run offline: the pinned `pulumi` binary (found or
 * built like the control plane), the dynamic-provider launcher next to it, a local file
 * backend, and a passphrase for secrets (from the environment, or generated once, 0600).
 */

export interface EngineEnv {
  /** Directory holding bin/pulumi, for PulumiCommand.get({ root }). */
  readonly root: string;
  readonly version: string;
  readonly backendUrl: string;
  readonly workDir: string;
  readonly envVars: Record<string, string>;
}

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function engineEnv(stackName: string, options: { env?: NodeJS.ProcessEnv; progress?: Progress; signal?: AbortSignal } = {}): Promise<EngineEnv> {
  const env = options.env ?? process.env;
  const pulumi = await resolveBinary('pulumi', { env, ...(options.progress ? { progress: options.progress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const id = createHash('sha256').update(`${PROJECT_ROOT}\n${process.execPath}\n${pulumi.path}`).digest('hex').slice(0, 12);
  const root = join(cacheDir(env), 'engine', id);
  const bin = join(root, 'bin');
  await mkdir(bin, { recursive: true });
  // A hard link, not a symlink: the engine looks for bundled plugins next to its own path.
  await linkBinary(pulumi.path, join(bin, 'pulumi'));
  // Pulumi runs dynamic providers through `pulumi-resource-pulumi-nodejs`: our Node, our SDK.
  const provider = join(PROJECT_ROOT, 'node_modules', '@pulumi', 'pulumi', 'cmd', 'dynamic-provider');
  await writeIfChanged(join(bin, 'pulumi-resource-pulumi-nodejs'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(provider)} "$@"\n`, 0o755);

  const home = infraHome(env);
  const state = join(home, 'state');
  await mkdir(state, { recursive: true, mode: 0o700 });
  const workDir = join(home, 'workspaces', stackName);
  await mkdir(workDir, { recursive: true });
  const envVars: Record<string, string> = {
    PULUMI_BACKEND_URL: env['INFRA_BACKEND_URL'] ?? `file://${state}`,
    PULUMI_HOME: join(home, 'pulumi-home'),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PATH: `${bin}:${dirname(process.execPath)}:${env['PATH'] ?? ''}`,
    INFRA_HOME: home,
    ...(await passphrase(env, home)),
  };
  return { root, version: pulumi.version, backendUrl: envVars['PULUMI_BACKEND_URL'] ?? '', workDir, envVars };
}

async function passphrase(env: NodeJS.ProcessEnv, home: string): Promise<Record<string, string>> {
  if (env['PULUMI_CONFIG_PASSPHRASE'] !== undefined) return { PULUMI_CONFIG_PASSPHRASE: env['PULUMI_CONFIG_PASSPHRASE'] };
  if (env['PULUMI_CONFIG_PASSPHRASE_FILE']) return { PULUMI_CONFIG_PASSPHRASE_FILE: env['PULUMI_CONFIG_PASSPHRASE_FILE'] };
  const file = join(home, 'passphrase');
  if (!(await pathExists(file))) {
    await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  await chmod(file, 0o600);
  return { PULUMI_CONFIG_PASSPHRASE_FILE: file };
}

async function linkBinary(target: string, path: string): Promise<void> {
  const same = await Promise.all([stat(target), stat(path).catch(() => undefined)]);
  if (same[1] && same[0].ino === same[1].ino) return;
  await unlink(path).catch(() => {});
  try {
    await link(target, path);
  } catch {
    await copyFile(target, path);
    await chmod(path, 0o755);
  }
}

async function writeIfChanged(path: string, text: string, mode: number): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current !== text) await writeFile(path, text, { mode });
}

/** Quotes a string for /bin/sh (single quotes; embedded ones closed and escaped). */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
