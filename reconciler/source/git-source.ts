import { createHash } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import type { GitRef, GitSourceSpec } from '../../stacks/gitops.ts';
import { SourceError } from '../errors.ts';
import type { Revision } from '../types.ts';
import { pathExists as exists, privateDir } from '../../clusters/fs.ts';

/**
 * Git sources: one bare mirror per repository URL in the cache, fetching only the ref an app
 * follows (shallow for branches and tags), and an immutable checkout per commit. Apps of the
 * same repository share one fetch per round (see `SourceFetcher`).
 */

export function refspecOf(ref: GitRef): string | undefined {
  if ('branch' in ref) return `+refs/heads/${ref.branch}:refs/remotes/origin/${ref.branch}`;
  if ('tag' in ref) return `+refs/tags/${ref.tag}:refs/tags/${ref.tag}`;
  return undefined;
}

function localRefOf(ref: GitRef): string {
  if ('branch' in ref) return `refs/remotes/origin/${ref.branch}`;
  if ('tag' in ref) return `refs/tags/${ref.tag}^{commit}`;
  return `${ref.commit}^{commit}`;
}

function describeRef(ref: GitRef): string {
  return 'branch' in ref ? `branch ${ref.branch}` : 'tag' in ref ? `tag ${ref.tag}` : `commit ${ref.commit}`;
}

/**
 * Git takes lock files in a repository (`shallow.lock`, ref and config locks) and fails rather
 * than waits, so work on one mirror is serialized in this process (`infra serve` reconciles
 * several apps of one repository at once).
 */
const mirrorWork = new Map<string, Promise<unknown>>();

function serialized<T>(mirror: string, work: () => Promise<T>): Promise<T> {
  const previous = mirrorWork.get(mirror) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(work);
  const tail = next.catch(() => undefined);
  mirrorWork.set(mirror, tail);
  void tail.then(() => {
    if (mirrorWork.get(mirror) === tail) mirrorWork.delete(mirror);
  });
  return next;
}

export class GitSource {
  private readonly spec: GitSourceSpec;
  private readonly mirror: string;
  private readonly checkouts: string;

  constructor(spec: GitSourceSpec, cacheRoot: string) {
    this.spec = spec;
    const id = createHash('sha256').update(spec.url).digest('hex').slice(0, 16);
    this.mirror = join(cacheRoot, 'git', id, 'mirror.git');
    this.checkouts = join(cacheRoot, 'git', id, 'checkouts');
  }

  /** Fetches the ref and returns the checked-out revision. */
  fetch(signal?: AbortSignal): Promise<Revision> {
    return serialized(this.mirror, () => this.fetchNow(signal));
  }

  private async fetchNow(signal?: AbortSignal): Promise<Revision> {
    const fail = (what: string, err: unknown) =>
      new SourceError(`${what} ${this.spec.url} (${describeRef(this.spec.ref)}): ${firstLine(err)}`, {
        where: `source ${this.spec.name}`,
        hint: 'check the URL, the ref and access to the repository',
        cause: err,
      });
    if (this.spec.url.startsWith('-')) throw fail('refusing a URL that looks like an option:', this.spec.url);
    // Checkouts hold whatever the repository holds, Secrets included: only we may read them.
    await privateDir(dirname(dirname(this.mirror)));
    await mkdir(this.mirror, { recursive: true, mode: 0o700 });
    const git = simpleGit({ baseDir: this.mirror, abort: signal });
    try {
      if (!(await exists(join(this.mirror, 'HEAD')))) await git.init(true);
      const refspec = refspecOf(this.spec.ref);
      const args = refspec ? ['--depth=1', '--no-tags', this.spec.url, refspec] : ['--no-tags', this.spec.url, '+refs/heads/*:refs/remotes/origin/*'];
      await git.raw(['fetch', '--quiet', ...args]);
    } catch (err) {
      throw fail('cannot fetch', err);
    }
    let commit: string;
    try {
      commit = (await git.raw(['rev-parse', '--verify', localRefOf(this.spec.ref)])).trim();
    } catch (err) {
      throw fail('cannot find', err);
    }
    return { source: this.spec.name, commit, dir: await this.checkout(commit) };
  }

  /**
   * Whether the repository serves `commit` yet (a webhook can announce a commit before the
   * mirror we fetch from has it). Fetches just that commit; false when the server does not know it.
   */
  hasCommit(commit: string, signal?: AbortSignal): Promise<boolean> {
    return serialized(this.mirror, () => this.hasCommitNow(commit, signal));
  }

  private async hasCommitNow(commit: string, signal?: AbortSignal): Promise<boolean> {
    if (!/^[0-9a-f]{40}$/.test(commit)) return false;
    if (this.spec.url.startsWith('-')) throw new SourceError(`refusing a URL that looks like an option: ${this.spec.url}`, { where: `source ${this.spec.name}` });
    await privateDir(dirname(dirname(this.mirror)));
    await mkdir(this.mirror, { recursive: true, mode: 0o700 });
    const git = simpleGit({ baseDir: this.mirror, abort: signal });
    try {
      if (!(await exists(join(this.mirror, 'HEAD')))) await git.init(true);
      await git.raw(['fetch', '--quiet', '--depth=1', '--no-tags', this.spec.url, commit]);
      return true;
    } catch (err) {
      if (/not our ref|couldn't find remote ref|no such remote ref|unadvertised object/i.test(String(err))) return false;
      throw new SourceError(`cannot fetch ${this.spec.url} (commit ${commit}): ${firstLine(err)}`, { where: `source ${this.spec.name}`, cause: err });
    }
  }

  /** A directory with the tree at `commit`; made once, then reused (commits never change). */
  private async checkout(commit: string): Promise<string> {
    const dir = join(this.checkouts, commit);
    if (await exists(dir)) return dir;
    const partial = `${dir}.partial-${process.pid}-${Date.now()}`;
    await mkdir(partial, { recursive: true });
    try {
      // A minimal environment: simple-git refuses editor/pager variables, and git needs none here.
      const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', GIT_INDEX_FILE: `${partial}.index` };
      const git = simpleGit({ baseDir: this.mirror }).env(env);
      await git.raw(['--work-tree', partial, 'checkout', '--force', commit, '--', '.']);
      await rename(partial, dir).catch(async (err: NodeJS.ErrnoException) => {
        // Another process checked out the same commit first: theirs is as good as ours.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
        await rm(partial, { recursive: true, force: true });
      });
    } catch (err) {
      await rm(partial, { recursive: true, force: true });
      throw new SourceError(`cannot check out ${commit} of ${this.spec.url}: ${firstLine(err)}`, { where: `source ${this.spec.name}`, cause: err });
    } finally {
      await rm(`${partial}.index`, { force: true });
    }
    return dir;
  }
}

/** One fetch per source per reconcile round, shared by every app that uses it. */
export class SourceFetcher {
  private readonly cacheRoot: string;
  private readonly rounds = new Map<string, Promise<Revision>>();
  constructor(cacheRoot: string) {
    this.cacheRoot = cacheRoot;
  }
  fetch(spec: GitSourceSpec, signal?: AbortSignal): Promise<Revision> {
    const key = `${spec.url}#${JSON.stringify(spec.ref)}`;
    let p = this.rounds.get(key);
    if (!p) {
      p = new GitSource(spec, this.cacheRoot).fetch(signal);
      this.rounds.set(key, p);
    }
    return p;
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? text;
}

