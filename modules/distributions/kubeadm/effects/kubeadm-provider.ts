import { randomInt } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { infraHome } from '../../../../clusters/host/paths.ts';
import { clusterLayout } from '../../../../clusters/local/layout.ts';
import { createCertificateAuthority, createServiceAccountKey } from '../../../../clusters/local/pki.ts';
import { connect, type HostAccess } from '../../../hosts/host-access.ts';
import { HostUnreachableError } from '../../../hosts/index.ts';
import { batchCheckScript, stepsOutOfPlace } from '../../binaries/member-plan.ts';
import type { BinariesTopology } from '../../binaries/topology.ts';
import type { KubeadmInputs } from '../kubeadm-config.ts';
import { firstControlPlaneSteps, joinSteps, type KubeadmCas } from '../kubeadm-steps.ts';
import { kubeadmArtifacts, kubeadmUp } from './kubeadm-up.ts';

/**
 * The KubeadmCluster resource, run in Pulumi's dynamic-provider process: create and update run
 * the distribution's steps on every host (each skipped when its check holds); read runs every
 * check in one round trip per host and reports whether all hold.
 */
export interface ClusterInputs {
  readonly topology: BinariesTopology;
  readonly access: Readonly<Record<string, HostAccess>>;
  readonly cgroupDriver: 'systemd' | 'cgroupfs';
}

interface Secrets {
  readonly cas: KubeadmCas;
  readonly token: string;
}

export interface ClusterOutputs extends ClusterInputs {
  readonly secrets: Secrets;
  readonly kubeconfig: string;
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly inSync: boolean;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomText = (n: number): string => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

async function newSecrets(cluster: string): Promise<Secrets> {
  return {
    cas: { ca: await createCertificateAuthority(`${cluster}-ca`), frontProxyCa: await createCertificateAuthority(`${cluster}-front-proxy-ca`), etcdCa: await createCertificateAuthority(`${cluster}-etcd-ca`), serviceAccount: await createServiceAccountKey() },
    token: `${randomText(6)}.${randomText(16)}`,
  };
}

const inputsOf = (c: ClusterInputs, s: Secrets): KubeadmInputs => ({ topology: c.topology, token: s.token, caCert: s.cas.ca.cert, cgroupDriver: c.cgroupDriver });

async function bring(c: ClusterInputs, secrets: Secrets): Promise<ClusterOutputs> {
  const result = await kubeadmUp({ inputs: inputsOf(c, secrets), cas: secrets.cas, access: c.access });
  const changed = result.runs.filter((r) => r.mutations > 0);
  if (changed.length > 0) {
    const dir = join(infraHome(), 'hosts');
    await mkdir(dir, { recursive: true });
    await appendFile(join(dir, 'mutations.log'), changed.map((r) => `${new Date().toISOString()} ${r.host} kubeadm ${r.mutations}\n`).join(''));
  }
  const path = clusterLayout(c.topology.cluster).kubeconfig;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const partial = `${path}.partial-${process.pid}`;
  await writeFile(partial, result.adminKubeconfig, { mode: 0o600 });
  await rename(partial, path);
  return { ...c, secrets, kubeconfig: result.adminKubeconfig, server: c.topology.apiserverUrl, kubeconfigPath: path, inSync: true };
}

export async function create(inputs: ClusterInputs): Promise<{ id: string; outs: ClusterOutputs }> {
  return { id: inputs.topology.cluster, outs: await bring(inputs, await newSecrets(inputs.topology.cluster)) };
}

export async function read(id: string, props: ClusterOutputs): Promise<{ id: string; props: ClusterOutputs }> {
  const inputs = inputsOf(props, props.secrets);
  const artifacts = await kubeadmArtifacts(inputs);
  const t = props.topology;
  const names = [...new Set([...t.controlPlanes, ...t.workers].map((h) => h.name))];
  const inPlace = await Promise.all(
    names.map(async (name) => {
      const cp = t.controlPlanes.findIndex((c) => c.name === name);
      const host = t.controlPlanes[cp] ?? t.workers.find((w) => w.name === name);
      if (!host) return false;
      const steps = cp === 0 ? firstControlPlaneSteps(inputs, props.secrets.cas, artifacts) : joinSteps(inputs, host, cp > 0, props.secrets.cas, artifacts);
      const access = props.access[name];
      if (!access) return false;
      try {
        const remote = await connect(access);
        try {
          const out = await remote.run({ script: batchCheckScript(steps) }, { sudo: true, quiet: true, step: 'check' });
          return stepsOutOfPlace(out.stdout).length === 0;
        } finally {
          await remote.close();
        }
      } catch (err) {
        // An unreachable host is out of sync, not a failed refresh.
        if (err instanceof HostUnreachableError) return false;
        throw err;
      }
    }),
  );
  // The kubeconfig file infra gitops reads is part of the cluster too.
  const file = await readFile(props.kubeconfigPath, 'utf8').catch(() => '');
  return { id, props: { ...props, inSync: inPlace.every(Boolean) && file === props.kubeconfig } };
}

export function diff(olds: ClusterOutputs, news: ClusterInputs): { changes: boolean; replaces: string[] } {
  const replaces = olds.topology.cluster !== news.topology.cluster ? ['topology'] : [];
  const changed = JSON.stringify(olds.topology) !== JSON.stringify(news.topology) || olds.cgroupDriver !== news.cgroupDriver;
  return { changes: replaces.length > 0 || changed || olds.inSync === false, replaces };
}

export async function update(_id: string, olds: ClusterOutputs, news: ClusterInputs): Promise<{ outs: ClusterOutputs }> {
  // Never new CAs or token: the hosts already joined trust these.
  return { outs: await bring(news, olds.secrets) };
}

/** Only the kubeconfig file: the hosts are left as they are (`kubeadm reset` is not run). */
export async function remove(_id: string, olds: ClusterOutputs): Promise<void> {
  await rm(olds.kubeconfigPath, { force: true });
}
