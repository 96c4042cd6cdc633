import { join } from 'node:path';
import type { ClusterCapabilities } from '../../clusters/discovery.ts';
import type { AppSpec } from '../../stacks/gitops.ts';
import { RenderError } from '../errors.ts';
import type { Manifest, Revision } from '../types.ts';
import { HELM_VERSION, KUSTOMIZE_VERSION } from '../../clusters/tools/versions.ts';
import { contentDigest, readRendered, renderKey, writeRendered } from './render-cache.ts';
import { renderHelm, renderKustomize } from './tools.ts';
import { renderYamlFolder } from './yaml-files.ts';
import { pathExists as exists } from '../../clusters/fs.ts';
import { withoutSkippedHooks } from './helm-hooks.ts';

/**
 * Renders an app's folder at a revision into manifests, with the renderer the app names or,
 * for `auto`, the one the folder calls for (kustomization.yaml → kustomize, Chart.yaml → helm,
 * else plain YAML). Plain YAML and kustomize render once for every cluster. A chart renders
 * with the target cluster's version and API groups (Helm's .Capabilities), unless the app pins
 * both: once per distinct set, so clusters alike share one render. Variables come after.
 */

export interface AppRender {
  /** The manifests when they are the same on every cluster (known before any cluster is asked). */
  readonly shared: readonly Manifest[] | undefined;
  /** The manifests for a cluster, given how to ask it for its capabilities. */
  forCluster(capabilities: () => Promise<ClusterCapabilities>): Promise<readonly Manifest[]>;
}

export interface RenderOptions {
  readonly cacheRoot?: string;
  readonly signal?: AbortSignal;
}

const RENDERERS = `${KUSTOMIZE_VERSION}/${HELM_VERSION}/2`;

export async function renderApp(app: AppSpec, revision: Revision, options: RenderOptions = {}): Promise<AppRender> {
  const dir = join(revision.dir, app.path);
  if (!(await exists(dir))) {
    throw new RenderError(`path "${app.path}" does not exist at ${revision.commit.slice(0, 12)}`, {
      where: `app ${app.name}`,
      hint: 'fix the app path or commit the folder',
    });
  }
  const kind = app.render === 'auto' ? await detect(dir) : app.render;
  if (kind !== 'helm') {
    const inputs = { commit: revision.commit, path: app.path, kind, namespace: app.namespace ?? null, renderers: RENDERERS };
    const shared = await cached(options, inputs, () => (kind === 'kustomize' ? renderKustomize(dir, revision.dir, options.signal) : renderYamlFolder(dir, revision.dir)));
    return { shared, forCluster: async () => shared };
  }

  const { kubeVersion, apiVersions } = app.helm;
  const chart = await contentDigest(dir);
  const render = (capabilities: ClusterCapabilities) => {
    const spec = { release: app.helm.releaseName ?? app.name, namespace: app.namespace ?? 'default', options: app.helm, capabilities };
    const inputs = { chart, path: app.path, release: spec.release, namespace: spec.namespace, values: app.helm.values, valuesFiles: app.helm.valuesFiles, capabilities, renderers: RENDERERS };
    return cached(options, inputs, () => renderHelm(dir, revision.dir, spec, options.signal));
  };
  if (kubeVersion !== undefined && apiVersions !== undefined) {
    const shared = await render({ kubeVersion, apiVersions: [...apiVersions].sort() });
    return { shared, forCluster: async () => shared };
  }
  const byCapabilities = new Map<string, Promise<Manifest[]>>();
  return {
    shared: undefined,
    async forCluster(discover) {
      const found = await discover();
      const capabilities = { kubeVersion: kubeVersion ?? found.kubeVersion, apiVersions: apiVersions ? [...apiVersions].sort() : found.apiVersions };
      const id = renderKey(capabilities);
      let p = byCapabilities.get(id);
      if (!p) {
        p = render(capabilities);
        byCapabilities.set(id, p);
        p.catch(() => byCapabilities.delete(id));
      }
      return p;
    },
  };
}

async function cached(options: RenderOptions, inputs: unknown, fresh: () => Promise<Manifest[]>): Promise<Manifest[]> {
  if (!options.cacheRoot) return withoutSkippedHooks(await fresh());
  const key = renderKey(inputs);
  const hit = await readRendered(options.cacheRoot, key);
  if (hit) return hit;
  const manifests = withoutSkippedHooks(await fresh());
  await writeRendered(options.cacheRoot, key, manifests);
  return manifests;
}

async function detect(dir: string): Promise<'yaml' | 'kustomize' | 'helm'> {
  for (const f of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) if (await exists(join(dir, f))) return 'kustomize';
  if (await exists(join(dir, 'Chart.yaml'))) return 'helm';
  return 'yaml';
}
