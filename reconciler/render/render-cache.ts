import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppSpec } from '../../stacks/gitops.ts';
import { canonicalJson } from '../apply/object-policy.ts';
import type { Manifest } from '../types.ts';

/**
 * Rendered manifests cached per (commit, folder, renderer options): a commit never changes,
 * so a round on an unchanged revision reads JSON instead of parsing YAML or running
 * kustomize/helm again. A corrupt or missing entry just renders afresh.
 */

export function renderKey(app: AppSpec, commit: string, rendererVersion: string): string {
  const inputs = { commit, path: app.path, render: app.render, helm: app.helm, namespace: app.namespace ?? null, rendererVersion };
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex').slice(0, 32);
}

export async function readRendered(cacheRoot: string, key: string): Promise<Manifest[] | undefined> {
  try {
    return JSON.parse(await readFile(join(cacheRoot, 'render', key.slice(0, 2), `${key}.json`), 'utf8')) as Manifest[];
  } catch {
    return undefined;
  }
}

export async function writeRendered(cacheRoot: string, key: string, manifests: readonly Manifest[]): Promise<void> {
  const dir = join(cacheRoot, 'render', key.slice(0, 2));
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${key}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(manifests));
  await rename(tmp, join(dir, `${key}.json`));
}
