import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitSourceSpec } from '../../stacks/gitops.ts';
import { parseStack, type StackSpec } from '../../stacks/load.ts';
import { UsageError } from '../../stacks/errors.ts';
import { GitSource } from '../source/git-source.ts';

/**
 * A stack file kept in Git (`infra serve --stack-from <source>:<path>`): changing the stack is a
 * push like any other. The source is named by the stack given with `-f` (the bootstrap stack)
 * and always taken from there, so a stack in Git that drops or breaks it cannot cut serve off.
 */

export interface StackLocation {
  readonly source: string;
  readonly path: string;
}

export function parseStackLocation(text: string): StackLocation {
  const colon = text.indexOf(':');
  const source = text.slice(0, colon);
  const path = text.slice(colon + 1);
  if (colon <= 0 || path === '' || path.startsWith('/') || path.split('/').includes('..')) {
    throw new UsageError(`--stack-from expects <source>:<path inside the repository>, got "${text}"`, { hint: 'e.g. --stack-from platform:stacks/prod.yaml' });
  }
  return { source, path };
}

export function stackSourceOf(bootstrap: StackSpec, at: StackLocation): GitSourceSpec {
  const s = bootstrap.gitops.sources.find((x) => x.name === at.source);
  if (!s) {
    throw new UsageError(`--stack-from names source "${at.source}", which the stack ${bootstrap.file} does not define`, {
      hint: `sources: ${bootstrap.gitops.sources.map((x) => x.name).join(', ') || 'none'}`,
    });
  }
  return s;
}

export interface LoadedStack {
  readonly stack: StackSpec;
  readonly commit: string;
  /** The file's text: a push that leaves it alone needs no reload. */
  readonly text: string;
}

/** Fetches the source and parses the stack at `path` of its newest commit; throws the stack's ValidationError when broken. */
export async function loadStackFromGit(spec: GitSourceSpec, at: StackLocation, cacheRoot: string, signal?: AbortSignal): Promise<LoadedStack> {
  const revision = await new GitSource(spec, cacheRoot).fetch(signal);
  const file = join(revision.dir, at.path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`the stack ${at.path} is missing in ${spec.name} at ${revision.commit.slice(0, 12)}: ${(err as NodeJS.ErrnoException).code ?? err}`, { where: `source ${spec.name}` });
  }
  return { stack: parseStack(file, text), commit: revision.commit, text };
}
