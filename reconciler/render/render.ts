import { join } from 'node:path';
import type { AppSpec } from '../../stacks/gitops.ts';
import { RenderError } from '../errors.ts';
import type { Manifest, Revision } from '../types.ts';
import { HELM_VERSION, KUSTOMIZE_VERSION } from '../../clusters/tools/versions.ts';
import { readRendered, renderKey, writeRendered } from './render-cache.ts';
import { renderHelm, renderKustomize } from './tools.ts';
import { renderYamlFolder } from './yaml-files.ts';
import { pathExists as exists } from '../../clusters/fs.ts';

/**
 * Renders an app's folder at a revision into manifests, with the renderer the app names or,
 * for `auto`, the one the folder calls for (kustomization.yaml → kustomize, Chart.yaml → helm,
 * else plain YAML). The result is cluster-independent; variables come after.
 */
export async function renderApp(app: AppSpec, revision: Revision, options: { cacheRoot?: string; signal?: AbortSignal } = {}): Promise<Manifest[]> {
  const key = options.cacheRoot ? renderKey(app, revision.commit, `${KUSTOMIZE_VERSION}/${HELM_VERSION}`) : undefined;
  if (options.cacheRoot && key) {
    const cached = await readRendered(options.cacheRoot, key);
    if (cached) return cached;
  }
  const manifests = await renderFresh(app, revision, options.signal);
  if (options.cacheRoot && key) await writeRendered(options.cacheRoot, key, manifests);
  return manifests;
}

async function renderFresh(app: AppSpec, revision: Revision, signal?: AbortSignal): Promise<Manifest[]> {
  const dir = join(revision.dir, app.path);
  if (!(await exists(dir))) {
    throw new RenderError(`path "${app.path}" does not exist at ${revision.commit.slice(0, 12)}`, {
      where: `app ${app.name}`,
      hint: 'fix the app path or commit the folder',
    });
  }
  const kind = app.render === 'auto' ? await detect(dir) : app.render;
  if (kind === 'kustomize') return renderKustomize(dir, revision.dir, signal);
  if (kind === 'helm') return renderHelm(dir, revision.dir, app.helm.releaseName ?? app.name, app.namespace ?? 'default', app.helm, signal);
  return renderYamlFolder(dir, revision.dir);
}

async function detect(dir: string): Promise<'yaml' | 'kustomize' | 'helm'> {
  for (const f of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) if (await exists(join(dir, f))) return 'kustomize';
  if (await exists(join(dir, 'Chart.yaml'))) return 'helm';
  return 'yaml';
}

