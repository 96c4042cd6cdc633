import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pathExists } from '../../clusters/fs.ts';
import { UsageError } from '../../stacks/errors.ts';
import { CHAINED_NAME, isInfraHook, postReceiveScript, type HookPlan } from './post-receive.ts';

/**
 * Installing and removing infra's post-receive hook in a repository: the effects around
 * `postReceiveScript`. A hook already there is moved aside and chained; installing again
 * rewrites the same file; uninstalling puts the moved hook back.
 */

const run = promisify(execFile);

export interface HookPaths {
  readonly hooksDir: string;
  readonly hook: string;
  readonly chained: string;
}

/** The repository's git dir (the repository itself when bare). */
export async function gitDirOf(repo: string): Promise<string> {
  const dir = resolve(repo);
  try {
    return resolve(dir, (await run('git', ['-C', dir, 'rev-parse', '--git-dir'], { env: withoutGitDir(process.env) })).stdout.trim());
  } catch (err) {
    throw new UsageError('not a git repository', { where: dir, hint: 'pass the path of a (bare) repository, e.g. /srv/git/app.git', cause: err });
  }
}

/** The hooks folder git uses for `repo` (honours core.hooksPath); a UsageError when it is no repository. */
export async function hookPaths(repo: string): Promise<HookPaths> {
  const dir = resolve(repo);
  let out: string;
  try {
    ({ stdout: out } = await run('git', ['-C', dir, 'rev-parse', '--git-path', 'hooks'], { env: withoutGitDir(process.env) }));
  } catch (err) {
    throw new UsageError('not a git repository', { where: dir, hint: 'pass the path of a (bare) repository, e.g. /srv/git/app.git', cause: err });
  }
  const hooksDir = resolve(dir, out.trim());
  return { hooksDir, hook: join(hooksDir, 'post-receive'), chained: join(hooksDir, CHAINED_NAME) };
}

export interface Installed {
  readonly hook: string;
  /** The previous hook, now called first. */
  readonly chained?: string;
  /** False when the same hook was there already. */
  readonly changed: boolean;
}

export async function installHook(repo: string, plan: Omit<HookPlan, 'chained'>): Promise<Installed> {
  const p = await hookPaths(repo);
  const current = (await pathExists(p.hook)) ? await readFile(p.hook, 'utf8') : undefined;
  if (current !== undefined && !isInfraHook(current)) {
    if (await pathExists(p.chained)) {
      throw new UsageError(`both a post-receive hook and ${CHAINED_NAME} exist, and neither is infra's`, { where: p.hooksDir, hint: `merge them into one post-receive, or remove ${CHAINED_NAME}, then install again` });
    }
    await rename(p.hook, p.chained);
  }
  const chained = (await pathExists(p.chained)) ? p.chained : undefined;
  const text = postReceiveScript({ ...plan, ...(chained ? { chained } : {}) });
  if (current === text) return { hook: p.hook, ...(chained ? { chained } : {}), changed: false };
  await mkdir(p.hooksDir, { recursive: true });
  const tmp = `${p.hook}.infra-tmp`;
  await writeFile(tmp, text, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, p.hook);
  return { hook: p.hook, ...(chained ? { chained } : {}), changed: true };
}

export interface Uninstalled {
  readonly removed: boolean;
  readonly restored?: string;
}

export async function uninstallHook(repo: string): Promise<Uninstalled> {
  const p = await hookPaths(repo);
  if (!(await pathExists(p.hook)) || !isInfraHook(await readFile(p.hook, 'utf8'))) return { removed: false };
  await rm(p.hook);
  if (!(await pathExists(p.chained))) return { removed: true };
  await rename(p.chained, p.hook);
  return { removed: true, restored: p.hook };
}

/** Run from inside a hook, git's GIT_DIR would point every command at the pushing repository. */
function withoutGitDir(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { GIT_DIR: _d, GIT_WORK_TREE: _w, ...rest } = env;
  return rest;
}
