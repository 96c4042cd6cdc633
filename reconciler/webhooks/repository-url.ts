import { resolve } from 'node:path';

/**
 * One spelling per repository, so a source's URL can be matched against the clone URLs a
 * provider puts in its payload: `https://Host/Org/Repo.git`, `ssh://git@host:7999/org/repo`
 * and `git@host:org/repo` all become `host/org/repo`; a local path (or file:// URL) becomes
 * its absolute path without a trailing `/` or `.git`. Remote paths are compared without case
 * (GitHub, GitLab, Gitea and Bitbucket treat them so); local paths keep theirs.
 */
export function normaliseRepositoryUrl(url: string): string {
  const u = url.trim();
  if (/^file:\/\//i.test(u)) return localPath(decodeURIComponent(u.replace(/^file:\/\//i, '')));
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\/([^/]+)(\/.*)?$/i.exec(u);
  if (withScheme) {
    const host = (withScheme[1] ?? '').replace(/^[^@]*@/, '').replace(/:\d+$/, '');
    return remote(host, withScheme[2] ?? '');
  }
  const scpLike = /^(?:[^@/]+@)?([^/:]+):(?!\/\/)(.*)$/.exec(u);
  if (scpLike && !u.startsWith('/')) return remote(scpLike[1] ?? '', `/${scpLike[2] ?? ''}`);
  return localPath(u);
}

function remote(host: string, path: string): string {
  const p = path.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/^\/+/, '');
  return `${host}/${p}`.toLowerCase();
}

function localPath(p: string): string {
  return resolve(p).replace(/\/+$/, '').replace(/\.git$/, '') || '/';
}

/** Whether any of the payload's URLs names the watched repository. */
export function sameRepository(watched: string, announced: readonly string[]): boolean {
  const want = normaliseRepositoryUrl(watched);
  return announced.some((a) => a !== '' && normaliseRepositoryUrl(a) === want);
}
