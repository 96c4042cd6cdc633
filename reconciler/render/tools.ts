import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { runCommand, tail } from '../../clusters/host/command.ts';
import { resolveBinary } from '../../clusters/tools/resolver.ts';
import type { HelmOptions } from '../../stacks/gitops.ts';
import { RenderError } from '../errors.ts';
import type { Manifest } from '../types.ts';
import { parseManifests } from './yaml-files.ts';

/** Kustomize overlays and Helm charts, rendered by the real binaries (pinned, found or built like the control plane's). */

export async function renderKustomize(dir: string, repoRoot: string, signal?: AbortSignal): Promise<Manifest[]> {
  const kustomize = await resolveBinary('kustomize', { signal });
  const where = relative(repoRoot, dir) || '.';
  const r = await runCommand(kustomize.path, ['build', dir], { signal });
  if (r.code !== 0) {
    throw new RenderError(`kustomize build failed: ${tail(r.stderr, 3)}`, { where: `${where}/kustomization.yaml`, hint: 'run `kustomize build` on that folder to see the whole error' });
  }
  return parseManifests(r.stdout, `${where} (kustomize build)`);
}

export async function renderHelm(dir: string, repoRoot: string, release: string, namespace: string, options: HelmOptions, signal?: AbortSignal): Promise<Manifest[]> {
  const helm = await resolveBinary('helm', { signal });
  const where = relative(repoRoot, dir) || '.';
  const scratch = await mkdtemp(join(tmpdir(), 'infra-helm-'));
  try {
    const values = join(scratch, 'values.yaml');
    await writeFile(values, stringify(options.values ?? {}), { mode: 0o600 });
    // HELM_* homes in the scratch dir: rendering never touches the user's helm config or network.
    const env = { ...process.env, HELM_CACHE_HOME: scratch, HELM_CONFIG_HOME: scratch, HELM_DATA_HOME: scratch };
    const r = await runCommand(helm.path, ['template', release, dir, '--namespace', namespace, '--values', values], { env, signal });
    if (r.code !== 0) {
      throw new RenderError(`helm template failed: ${tail(r.stderr, 3)}`, { where: `${where}/Chart.yaml`, hint: 'run `helm template` on that chart to see the whole error' });
    }
    return parseManifests(r.stdout, `${where} (helm template)`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
