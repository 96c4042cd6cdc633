import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderKubeconfig } from '../../../../clusters/local/kubeconfig-file.ts';
import { clusterLayout } from '../../../../clusters/local/layout.ts';
import { certOf, ensureClusterPki, type ClusterPki } from '../cluster-pki.ts';
import type { BinariesTopology } from '../topology.ts';
import { HostUnreachableError } from '../../../hosts/index.ts';
import { withHost, type HostAccess } from '../../../hosts/host-access.ts';
import { QuorumRefusedError } from '../errors.ts';
import { decideMemberRemoval, type MemberHealth } from '../removal-plan.ts';
import { etcdMembers } from './etcd-members.ts';

/**
 * The BinariesCluster resource: the cluster's PKI (made once, kept in the state as a secret,
 * extended when hosts join) and the admin kubeconfig, returned as a secret and written 0600
 * where `infra gitops` finds a provisioned cluster's connection.
 */
export interface ClusterInputs {
  readonly topology: BinariesTopology;
  /** Every host of the cluster by name, for the quorum check before a control plane leaves. */
  readonly access: Readonly<Record<string, HostAccess>>;
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
  return { topology: t, access: inputs.access, pki, kubeconfig, server: t.apiserverUrl, kubeconfigPath: path };
}

export async function create(inputs: ClusterInputs): Promise<{ id: string; outs: ClusterOutputs }> {
  return { id: inputs.topology.cluster, outs: await bring(inputs) };
}

export function diff(olds: ClusterOutputs, news: ClusterInputs): { changes: boolean; replaces: string[] } {
  const replaces = olds.topology.cluster !== news.topology.cluster ? ['topology'] : [];
  // Only the topology matters: host keys pinned later change `access`, not the cluster.
  return { changes: JSON.stringify(olds.topology) !== JSON.stringify(news.topology), replaces };
}

export async function update(_id: string, olds: ClusterOutputs, news: ClusterInputs): Promise<{ outs: ClusterOutputs }> {
  await refuseLosingQuorum(olds, news);
  // Never a new CA: hosts that stay keep their certificates, new ones get theirs.
  return { outs: await bring(news, olds.pki) };
}

export async function remove(_id: string, olds: ClusterOutputs): Promise<void> {
  await rm(olds.kubeconfigPath, { force: true });
}

/**
 * Before anything changes: control-plane hosts that leave the stack must leave etcd a healthy
 * majority (asked of a member that stays). Checked here, first of the cluster's resources, so a
 * refused removal changes no host at all.
 */
async function refuseLosingQuorum(olds: ClusterOutputs, news: ClusterInputs): Promise<void> {
  const staying = new Set(news.topology.controlPlanes.map((h) => h.name));
  const leaving = olds.topology.controlPlanes.filter((h) => !staying.has(h.name)).map((h) => h.name);
  if (leaving.length === 0) return;
  if (staying.size === 0) {
    throw new QuorumRefusedError(`cluster ${news.topology.cluster} would keep no etcd member`, { where: `cluster ${news.topology.cluster}`, hint: 'keep at least one control-plane host' });
  }
  const reachable = news.topology.controlPlanes.filter((h) => news.access[h.name]);
  for (const via of reachable) {
    let members: MemberHealth[];
    try {
      members = await withHost(news.access[via.name] as HostAccess, (h) => etcdMembers(h, via.address));
    } catch (err) {
      if (err instanceof HostUnreachableError) continue;
      throw err;
    }
    let left = members;
    for (const name of leaving) {
      const decision = decideMemberRemoval(left, name);
      if (!decision.allowed) {
        throw new QuorumRefusedError(`refusing to remove ${name} from cluster ${news.topology.cluster}: ${decision.reason}`, { where: `host ${name}`, hint: 'bring the unhealthy members back first (or remove the broken one instead), then run `infra up` again' });
      }
      left = left.filter((m) => m.name !== name);
    }
    return;
  }
  throw new QuorumRefusedError(`cannot check etcd's health before removing ${leaving.join(', ')}: no control-plane host that stays can be reached`, { where: `cluster ${news.topology.cluster}` });
}
