import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderKubeconfig } from '../../../../clusters/local/kubeconfig-file.ts';
import { clusterLayout } from '../../../../clusters/local/layout.ts';
import { certOf, ensureClusterPki, type ClusterPki } from '../cluster-pki.ts';
import type { BinariesTopology } from '../topology.ts';

/**
 * The BinariesCluster resource: the cluster's PKI (made once, kept in the state as a secret,
 * extended when hosts join) and the admin kubeconfig, returned as a secret and written 0600
 * where `infra gitops` finds a provisioned cluster's connection.
 */
export interface ClusterInputs {
  readonly topology: BinariesTopology;
}

export interface ClusterOutputs extends ClusterInputs {
  readonly pki: ClusterPki;
  readonly kubeconfig: string;
  readonly server: string;
  readonly kubeconfigPath: string;
}

async function bring(inputs: ClusterInputs, existing?: ClusterPki): Promise<ClusterOutputs> {
  const t = inputs.topology;
  const pki = await ensureClusterPki(t, existing);
  const admin = certOf(pki, 'admin');
  const kubeconfig = renderKubeconfig({ contextName: `infra-${t.cluster}`, server: t.apiserverUrl, user: 'infra-admin', ca: { data: pki.ca.cert }, clientCert: { data: admin.cert }, clientKey: { data: admin.key } });
  const path = clusterLayout(t.cluster).kubeconfig;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const partial = `${path}.partial-${process.pid}`;
  await writeFile(partial, kubeconfig, { mode: 0o600 });
  await rename(partial, path);
  return { topology: t, pki, kubeconfig, server: t.apiserverUrl, kubeconfigPath: path };
}

export async function create(inputs: ClusterInputs): Promise<{ id: string; outs: ClusterOutputs }> {
  return { id: inputs.topology.cluster, outs: await bring(inputs) };
}

export function diff(olds: ClusterOutputs, news: ClusterInputs): { changes: boolean; replaces: string[] } {
  const replaces = olds.topology.cluster !== news.topology.cluster ? ['topology'] : [];
  return { changes: JSON.stringify(olds.topology) !== JSON.stringify(news.topology), replaces };
}

export async function update(_id: string, olds: ClusterOutputs, news: ClusterInputs): Promise<{ outs: ClusterOutputs }> {
  // Never a new CA: hosts that stay keep their certificates, new ones get theirs.
  return { outs: await bring(news, olds.pki) };
}

export async function remove(_id: string, olds: ClusterOutputs): Promise<void> {
  await rm(olds.kubeconfigPath, { force: true });
}
