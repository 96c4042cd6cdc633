import { EtcdSnapshotError } from '../../../../clusters/errors.ts';
import { resolveBinary } from '../../../../clusters/tools/resolver.ts';
import type { Progress } from '../../../../clusters/tools/heartbeat.ts';
import { UsageError } from '../../../../stacks/errors.ts';
import type { StackSpec } from '../../../../stacks/load.ts';
import { hostsOverSsh } from '../../../../stacks/site-hosts.ts';
import { connect } from '../../../hosts/host-access.ts';
import type { RemoteHost } from '../../../hosts/index.ts';
import { hostKeyPins } from '../../../hosts/stack-host-key.ts';
import { planTopology, type BinariesTopology } from '../topology.ts';
import { restoreOverSsh, snapshotOverSsh, type RemoteRestoreResult, type RemoteSnapshotResult } from './remote-etcd.ts';

/**
 * `infra etcd snapshot|restore` for a `kubernetes` cluster on an ssh site (or the VMs of a kvm site) of a stack: its
 * control-plane hosts, reached like `ssh` would (the ssh config, known_hosts, or the stack's
 * `hostKey`; keys pinned only in the Pulumi state are not read here, so a host must be known
 * to one of those).
 */

export interface StackEtcdOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

/** The topology of `name` when it is a cluster infra runs on SSH hosts, else undefined. */
export function sshClusterTopology(stack: StackSpec, name: string): BinariesTopology | undefined {
  const cluster = stack.clusters.find((c) => c.name === name);
  const sites = new Set(stack.sites.filter(hostsOverSsh).map((s) => s.name));
  if (!cluster || cluster.kubeconfig || cluster.local || cluster.distribution !== 'kubernetes' || !cluster.site || !sites.has(cluster.site)) return undefined;
  return planTopology(cluster, stack.hosts);
}

async function withControlPlanes<T>(stack: StackSpec, t: BinariesTopology, options: StackEtcdOptions, work: (hosts: RemoteHost[]) => Promise<T>): Promise<T> {
  const connected: RemoteHost[] = [];
  try {
    for (const h of t.controlPlanes) {
      const spec = stack.hosts.find((s) => s.name === h.name);
      connected.push(await connect({ ...h, pins: spec ? hostKeyPins(spec) : [] }, { ...(options.env ? { env: options.env } : {}), ...(options.signal ? { signal: options.signal } : {}) }));
    }
    return await work(connected);
  } finally {
    await Promise.all(connected.map((h) => h.close().catch(() => undefined)));
  }
}

async function tools(options: StackEtcdOptions) {
  const r = { env: options.env, progress: options.progress, signal: options.signal };
  return { etcdctl: (await resolveBinary('etcdctl', r)).path, etcdutl: (await resolveBinary('etcdutl', r)).path };
}

function topologyOf(stack: StackSpec, name: string, stackFile: string): BinariesTopology {
  const t = sshClusterTopology(stack, name);
  if (!t) {
    throw new UsageError(`"${name}" is neither a local cluster nor a kubernetes cluster on the hosts of an ssh or kvm site of ${stackFile}`, {
      hint: 'name an `infra local` cluster, or pass the stack that defines the cluster with -f',
    });
  }
  return t;
}

export async function snapshotStackCluster(stack: StackSpec, stackFile: string, name: string, output: string, options: StackEtcdOptions = {}): Promise<RemoteSnapshotResult> {
  const t = topologyOf(stack, name, stackFile);
  const found = await tools(options);
  return withControlPlanes(stack, t, options, (hosts) => snapshotOverSsh(t, hosts, output, { tools: found, ...options }));
}

export async function restoreStackCluster(stack: StackSpec, stackFile: string, name: string, file: string, options: StackEtcdOptions = {}): Promise<RemoteRestoreResult> {
  const t = topologyOf(stack, name, stackFile);
  const found = await tools(options);
  if (t.controlPlanes.length === 0) throw new EtcdSnapshotError(`cluster "${name}" has no control-plane host`, { where: stackFile });
  return withControlPlanes(stack, t, options, (hosts) => restoreOverSsh(t, hosts, file, { tools: found, ...options }));
}
