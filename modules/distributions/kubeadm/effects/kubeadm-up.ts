import { readFile } from 'node:fs/promises';
import { resolveBinaries } from '../../../../clusters/tools/resolver.ts';
import type { BinaryName } from '../../../../clusters/tools/versions.ts';
import { connect, type HostAccess } from '../../../hosts/host-access.ts';
import { digestOf } from '../../binaries/effects/artifacts.ts';
import { stepHost } from '../../binaries/effects/step-host.ts';
import { ensurePauseImage } from '../../binaries/pause-image.ts';
import { runSteps, type HostRun } from '../../binaries/run-steps.ts';
import type { LocalArtifact, Step } from '../../binaries/steps.ts';
import { initConfig, type KubeadmInputs } from '../kubeadm-config.ts';
import { firstControlPlaneSteps, joinSteps, kubeadmWaves, type KubeadmArtifacts, type KubeadmCas } from '../kubeadm-steps.ts';
import { buildKubeadmImages, listKubeadmImages } from './images.ts';

/**
 * The kubeadm distribution run over the SSH layer: artifacts resolved and the control-plane
 * images built here, then each wave of hosts (first control plane, other control planes one at
 * a time, workers together) runs its check-before-change steps. A second run finds every check
 * true and changes nothing.
 */

export const KUBEADM_BINARIES: readonly BinaryName[] = ['kubeadm', 'kubelet', 'kubectl', 'cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'];

export interface KubeadmUpOptions {
  readonly inputs: KubeadmInputs;
  readonly cas: KubeadmCas;
  /** How to reach every host of the topology, by name. */
  readonly access: Readonly<Record<string, HostAccess>>;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  readonly onStep?: (host: string, step: Step, changed: boolean) => void;
}

export interface KubeadmUpResult {
  readonly runs: readonly HostRun[];
  /** kubeadm's admin kubeconfig from the first control plane (secret: never logged). */
  readonly adminKubeconfig: string;
}

export async function kubeadmArtifacts(inputs: KubeadmInputs, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<KubeadmArtifacts> {
  const env = options.env ?? process.env;
  const resolved = await resolveBinaries(KUBEADM_BINARIES, { env, ...(options.signal ? { signal: options.signal } : {}) });
  const binaries: Record<string, LocalArtifact> = {};
  for (const name of KUBEADM_BINARIES) binaries[name] = { path: resolved[name].path, sha256: await digestOf(resolved[name].path) };
  const pause = await ensurePauseImage(env, options.signal);
  const listed = await listKubeadmImages(resolved.kubeadm.path, initConfig(inputs), options.signal);
  const { images, pauseTag } = await buildKubeadmImages(listed, { env, ...(options.signal ? { signal: options.signal } : {}) });
  return {
    binaries,
    pauseImage: { path: pause, sha256: await digestOf(pause) },
    controlPlaneImages: images.map((i) => ({ reference: i.plan.reference, id: i.plan.id, archive: i.archive })),
    ...(pauseTag ? { pauseTag } : {}),
  };
}

export async function kubeadmUp(o: KubeadmUpOptions): Promise<KubeadmUpResult> {
  const t = o.inputs.topology;
  const artifacts = await kubeadmArtifacts(o.inputs, { ...(o.env ? { env: o.env } : {}), ...(o.signal ? { signal: o.signal } : {}) });
  const first = t.controlPlanes[0];
  if (!first) throw new Error(`cluster "${t.cluster}" has no control-plane host`);
  const stepsOf = (name: string): Step[] => {
    if (name === first.name) return firstControlPlaneSteps(o.inputs, o.cas, artifacts);
    const cp = t.controlPlanes.find((c) => c.name === name);
    const host = cp ?? t.workers.find((w) => w.name === name);
    if (!host) throw new Error(`host ${name} is not in cluster ${t.cluster}`);
    return joinSteps(o.inputs, host, cp !== undefined, o.cas, artifacts);
  };
  const access = (name: string): HostAccess => {
    const a = o.access[name];
    if (!a) throw new Error(`no connection data for host ${name} of cluster ${t.cluster}`);
    return a;
  };
  const runs: HostRun[] = [];
  let adminKubeconfig = '';
  for (const wave of kubeadmWaves(t)) {
    // A wave waits for the one before: a join needs the control plane it joins. One failing
    // host does not stop the others of its wave; the first failure is thrown after all end.
    const settled = await Promise.allSettled(
      wave.map(async (name) => {
        const remote = await connect(access(name), { ...(o.env ? { env: o.env } : {}), ...(o.signal ? { signal: o.signal } : {}) });
        try {
          const run = await runSteps(stepHost(remote), stepsOf(name), { readLocal: (p) => readFile(p), ...(o.signal ? { signal: o.signal } : {}), ...(o.onStep ? { onStep: o.onStep } : {}) });
          if (name === first.name) adminKubeconfig = (await remote.readFile('/etc/kubernetes/admin.conf', { sudo: true, ...(o.signal ? { signal: o.signal } : {}) })).toString('utf8');
          return run;
        } finally {
          await remote.close();
        }
      }),
    );
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    runs.push(...settled.map((r) => (r as PromiseFulfilledResult<HostRun>).value));
  }
  return { runs, adminKubeconfig };
}
