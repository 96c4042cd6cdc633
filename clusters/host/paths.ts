import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where infra keeps long-lived user state (local clusters, later Pulumi state).
 * `INFRA_HOME` overrides it; tests point it at a throwaway directory.
 */
export function infraHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['INFRA_HOME'] ?? join(homedir(), '.infra');
}

/**
 * Where built binaries are cached. Outside any checkout, so a fresh clone on the same
 * machine reuses minutes of Go builds. `INFRA_CACHE_DIR` overrides it.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['INFRA_CACHE_DIR']) return env['INFRA_CACHE_DIR'];
  const xdg = env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return join(xdg, 'infra');
}

export function localClustersDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(infraHome(env), 'local');
}
