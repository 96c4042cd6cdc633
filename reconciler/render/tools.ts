import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import type { ClusterCapabilities } from '../../clusters/discovery.ts';
import { runCommand, tail } from '../../clusters/host/command.ts';
import { resolveBinary } from '../../clusters/tools/resolver.ts';
import type { HelmOptions } from '../../stacks/gitops.ts';
import { RenderError } from '../errors.ts';
import type { Manifest } from '../types.ts';
import { helmSource, kustomizeSource, mapToSources } from './source-map.ts';
import { parseDocuments } from './yaml-files.ts';

/** Kustomize overlays and Helm charts, rendered by the real binaries (pinned, found or built like the control plane's). */

export async function renderKustomize(dir: string, repoRoot: string, signal?: AbortSignal): Promise<Manifest[]> {
  const kustomize = await resolveBinary('kustomize', { signal });
  const where = relative(repoRoot, dir) || '.';
  // A wrapper kustomization asks for origin annotations without touching the user's files;
  // it names the overlay by a relative path, as kustomize requires.
  const scratch = await mkdtemp(join(tmpdir(), 'infra-kustomize-'));
  try {
    await writeFile(join(scratch, 'kustomization.yaml'), stringify({ resources: [relative(scratch, dir)], buildMetadata: ['originAnnotations'] }));
    const r = await runCommand(kustomize.path, ['build', scratch], { signal });
    if (r.code !== 0) {
      const stderr = r.stderr.replaceAll(scratch, '<build>');
      throw new RenderError(`kustomize build failed: ${tail(stderr, 3)}`, { where: `${where}/kustomization.yaml`, hint: 'run `kustomize build` on that folder to see the whole error' });
    }
    const label = `${where} (kustomize build)`;
    const docs = parseDocuments(r.stdout, label).map((doc) => {
      const { object, source } = kustomizeSource(doc.object, scratch, repoRoot);
      return { doc, object, source };
    });
    return await mapToSources(docs, repoRoot, label);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface HelmRender {
  readonly release: string;
  readonly namespace: string;
  readonly options: HelmOptions;
  /** Passed as --kube-version and --api-versions (Helm's .Capabilities). */
  readonly capabilities: ClusterCapabilities | undefined;
}

export async function renderHelm(dir: string, repoRoot: string, spec: HelmRender, signal?: AbortSignal): Promise<Manifest[]> {
  const helm = await resolveBinary('helm', { signal });
  const where = relative(repoRoot, dir) || '.';
  const scratch = await mkdtemp(join(tmpdir(), 'infra-helm-'));
  try {
    const values = join(scratch, 'values.yaml');
    await writeFile(values, stringify(spec.options.values ?? {}), { mode: 0o600 });
    // HELM_* homes in the scratch dir: rendering never touches the user's helm config or network.
    const env = { ...process.env, HELM_CACHE_HOME: scratch, HELM_CONFIG_HOME: scratch, HELM_DATA_HOME: scratch };
    const args = ['template', spec.release, dir, '--namespace', spec.namespace];
    for (const f of spec.options.valuesFiles) args.push('--values', join(dir, f));
    args.push('--values', values);
    if (spec.capabilities?.kubeVersion) args.push('--kube-version', spec.capabilities.kubeVersion);
    for (const v of spec.capabilities?.apiVersions ?? []) args.push('--api-versions', v);
    const r = await runCommand(helm.path, args, { env, signal });
    if (r.code !== 0) {
      const stderr = r.stderr.replaceAll(scratch, '<values>');
      throw new RenderError(`helm template failed: ${tail(stderr, 3)}`, {
        where: `${where}/Chart.yaml`,
        hint: `run \`helm template\` on that chart to see the whole error${spec.capabilities ? ` (rendered for Kubernetes ${spec.capabilities.kubeVersion})` : ''}`,
      });
    }
    const label = `${where} (helm template)`;
    const docs = parseDocuments(r.stdout, label).map((doc) => ({ doc, object: doc.object, source: helmSource(doc.comment, where) }));
    return await mapToSources(docs, repoRoot, label);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
