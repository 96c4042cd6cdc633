import { mkdir, readdir, rm } from 'node:fs/promises';
import { UsageError } from '../../stacks/errors.ts';
import { kubeConfigFromFile } from '../connection.ts';
import { PinnedVersionsChangedError, PortInUseError } from '../errors.ts';
import { waitFor } from '../wait.ts';
import { pathExists } from '../fs.ts';
import { clusterNames, readState, requireState, serverUrl, writeKubeconfigs, writeState } from './cluster-files.ts';
import { STATE_API_VERSION, type ClusterPorts, type LocalClusterState } from './cluster-state.ts';
import { controlPlane, type ComponentName, type ComponentSpec } from './control-plane.ts';
import { ensureFakeNodes, readyFakeNodes, releaseNodeLeases } from './fake-nodes.ts';
import { acquireLock } from '../host/file-lock.ts';
import type { Progress } from '../tools/go-builder.ts';
import { CLUSTER_NAME_PATTERN, clusterLayout, type ClusterLayout } from './layout.ts';
import { localClustersDir } from '../host/paths.ts';
import { ensurePki } from './pki.ts';
import { finishRestore, repairInterruptedRestore } from './restore-state.ts';
import { decidePins, describeChanges, pinsOf } from './version-pins.ts';
import { freePorts, isPortBusy } from './ports.ts';
import { killStrays, runningProcess, startProcess, stopComponent } from './processes.ts';
import { assertAlive, waitApiserverReady, waitEtcdHealthy, waitWorkloadsReady } from './readiness.ts';
import { resolveBinaries } from '../tools/resolver.ts';
import { BINARY_NAMES, ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION } from '../tools/versions.ts';

/**
 * Local clusters: real control planes (etcd, kube-apiserver, controller-manager, scheduler)
 * run as processes, with kwok playing the kubelets of N fake nodes. `up` is idempotent: on
 * an existing cluster it restarts only what died.
 */

export interface UpOptions {
  readonly nodes?: number;
  readonly apiserverPort?: number;
  readonly unsafeNoFsync?: boolean;
  /** Consent to move an existing cluster to the versions infra pins now (one minor step). */
  readonly upgrade?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
}

export type ComponentStatus = 'running' | 'stopped';

export interface LocalClusterInfo {
  readonly name: string;
  readonly server: string;
  readonly kubeconfig: string;
  readonly nodes: number;
  readonly components: Readonly<Record<ComponentName, ComponentStatus>>;
  /** Components this call started (empty when everything already ran). */
  readonly started: readonly ComponentName[];
}

const DEFAULT_NODES = 1;
const STOP_ORDER: readonly ComponentName[] = ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];

export async function upLocalCluster(name: string, options: UpOptions = {}): Promise<LocalClusterInfo> {
  const layout = layoutFor(name, options.env);
  const progress = options.progress ?? (() => {});
  if (options.nodes !== undefined && (!Number.isInteger(options.nodes) || options.nodes < 0 || options.nodes > 1000)) {
    throw new UsageError(`--nodes must be a whole number from 0 to 1000, got ${options.nodes}`);
  }
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  const lock = await acquireLock(layout.lockDir, { what: `local cluster "${name}"`, wait: false });
  try {
    const { state, repinned } = await loadOrCreateState(layout, options, progress);
    if (repinned) {
      // The running processes are the old versions: stop them all; they start below on the new binaries.
      await stopControlPlane(layout);
    }
    // An etcd restore cut short must not start etcd on a missing or half-written data dir.
    await repairInterruptedRestore(layout, () => stopControlPlane(layout), progress);
    return await startControlPlane(layout, state, options);
  } finally {
    await lock.release();
  }
}

/** Stops every process of a local cluster, clients first, etcd last. */
export async function stopControlPlane(layout: ClusterLayout): Promise<ComponentName[]> {
  const stopped: ComponentName[] = [];
  for (const component of STOP_ORDER) if (await stopComponent(layout, component)) stopped.push(component);
  return stopped;
}

/**
 * Starts whatever of the control plane is not running and waits until the cluster works.
 * The caller holds the cluster's lock (`up`, `infra etcd restore`).
 */
export async function startControlPlane(layout: ClusterLayout, state: LocalClusterState, options: UpOptions = {}): Promise<LocalClusterInfo> {
  const progress = options.progress ?? (() => {});
  const name = layout.name;
  const binaries = await resolveBinaries(BINARY_NAMES, { env: options.env, progress, signal: options.signal });
  await ensurePki(layout.pkiDir);
  await writeKubeconfigs(layout, state);

  const specs = controlPlane(state, layout);
  const alive = new Set(specs.map((s) => runningProcess(layout, s.name)?.pid).filter((p): p is number => p !== undefined));
  const strays = await killStrays(layout, alive);
  if (strays.length > 0) progress(`stopped ${strays.length} stray process(es) of "${name}" left by an earlier crash`);

  const started: ComponentName[] = [];
  for (const spec of specs) {
    // A client that watched through an apiserver crash comes back in exponential backoff
    // (its informers saw "forbidden" while the new apiserver's RBAC cache warmed up), which
    // stalls controllers for minutes. When the apiserver was restarted, restart its clients.
    if (started.includes('kube-apiserver') && spec.name !== 'etcd' && spec.name !== 'kube-apiserver' && runningProcess(layout, spec.name)) {
      progress(`restarting ${spec.name} of "${name}" after its apiserver restarted`);
      await stopComponent(layout, spec.name);
    }
    if (!runningProcess(layout, spec.name)) {
      await assertPortsFree(layout, state, spec);
      if (spec.name === 'kwok') await releaseNodeLeases(kubeConfigFromFile(layout.kubeconfig));
      progress(`starting ${spec.name} of "${name}"`);
      await startProcess(layout, spec, binaries[spec.binary].path);
      started.push(spec.name);
    }
    if (spec.name === 'etcd') await waitEtcdHealthy(layout, state, options.signal);
    if (spec.name === 'kube-apiserver') await waitApiserverReady(layout, state, options.signal);
  }
  const kc = kubeConfigFromFile(layout.kubeconfig);
  await ensureFakeNodes(kc, name, state.nodes);
  await waitWorkloadsReady(layout, state, kc, () => readyFakeNodes(kc), options.signal);
  for (const spec of specs) await assertAlive(layout, spec.name);
  if (await finishRestore(layout)) progress(`local cluster "${name}" is up on its restored etcd data; the data from before is deleted`);
  return info(layout, state, started);
}

export async function downLocalCluster(
  name: string,
  options: { purge?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<{ name: string; stopped: ComponentName[]; purged: boolean }> {
  const layout = layoutFor(name, options.env);
  // --purge removes even a corrupt cluster; anything else needs a readable one.
  if (!options.purge || !(await pathExists(layout.dir))) await requireState(layout);
  const lock = await acquireLock(layout.lockDir, { what: `local cluster "${name}"`, wait: false });
  const stopped: ComponentName[] = [];
  try {
    stopped.push(...(await stopControlPlane(layout)));
    await killStrays(layout, new Set());
  } finally {
    await lock.release();
  }
  if (options.purge) await rm(layout.dir, { recursive: true, force: true });
  return { name, stopped, purged: options.purge === true };
}

export async function listLocalClusters(env?: NodeJS.ProcessEnv): Promise<LocalClusterInfo[]> {
  const out: LocalClusterInfo[] = [];
  for (const name of await clusterNames(localClustersDir(env))) {
    const layout = clusterLayout(name, env);
    const state = await readState(layout).catch(() => undefined);
    if (state) out.push(info(layout, state, []));
  }
  return out;
}

export async function describeLocalCluster(name: string, env?: NodeJS.ProcessEnv): Promise<LocalClusterInfo> {
  const layout = layoutFor(name, env);
  return info(layout, await requireState(layout), []);
}

function info(layout: ClusterLayout, state: LocalClusterState, started: ComponentName[]): LocalClusterInfo {
  const components = Object.fromEntries(
    controlPlane(state, layout).map((s) => [s.name, runningProcess(layout, s.name) ? 'running' : 'stopped']),
  ) as Record<ComponentName, ComponentStatus>;
  return { name: state.name, server: serverUrl(state), kubeconfig: layout.kubeconfig, nodes: state.nodes, components, started };
}

export function layoutFor(name: string, env?: NodeJS.ProcessEnv): ClusterLayout {
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw new UsageError(`invalid local cluster name "${name}"`, {
      hint: 'use 1-40 lowercase letters, digits and dashes, starting and ending with a letter or digit',
    });
  }
  return clusterLayout(name, env);
}

async function loadOrCreateState(layout: ClusterLayout, options: UpOptions, progress: Progress): Promise<{ state: LocalClusterState; repinned: boolean }> {
  const existing = await readState(layout);
  if (existing) {
    const pinned = { kubernetesVersion: KUBERNETES_VERSION, etcdVersion: ETCD_VERSION, kwokVersion: KWOK_VERSION };
    const decision = decidePins(pinsOf(existing), pinned);
    if (decision.kind === 'refuse' || (decision.kind === 'upgrade' && !options.upgrade)) {
      const made = `made with Kubernetes ${existing.kubernetesVersion}, etcd ${existing.etcdVersion}, kwok ${existing.kwokVersion}`;
      const now = `infra now runs Kubernetes ${KUBERNETES_VERSION}, etcd ${ETCD_VERSION}, kwok ${KWOK_VERSION}`;
      throw new PinnedVersionsChangedError(
        decision.kind === 'refuse' ? `local cluster "${layout.name}" was ${made}; ${now}, and ${decision.why}` : `local cluster "${layout.name}" was ${made}; ${now}`,
        {
          where: layout.stateFile,
          hint:
            decision.kind === 'refuse'
              ? `run \`infra local down ${layout.name} --purge\` and create it again (its data is lost), or use the infra version that made it`
              : `run \`infra local up ${layout.name} --upgrade\` to upgrade it in place (${describeChanges(decision.changes)})`,
        },
      );
    }
    const repinned = decision.kind === 'upgrade' || decision.kind === 'record';
    if (repinned) progress(`${decision.kind === 'upgrade' ? 'upgrading' : 'moving'} local cluster "${layout.name}": ${describeChanges(decision.changes)}`);
    const next = { ...existing, ...(repinned ? pinned : {}), ...(options.nodes !== undefined ? { nodes: options.nodes } : {}) };
    if (JSON.stringify(next) !== JSON.stringify(existing)) await writeState(layout, next);
    return { state: next, repinned };
  }
  const leftovers = (await readdir(layout.dir)).filter((e) => !e.startsWith('.lock'));
  if (leftovers.length > 0) {
    throw new UsageError(`${layout.dir} holds files but no cluster.json: not a usable local cluster`, {
      where: layout.dir,
      hint: `run \`infra local down ${layout.name} --purge\` to remove it`,
    });
  }
  const [apiserver, etcdClient, etcdPeer, kwok] = await pickPorts(options.apiserverPort);
  const state: LocalClusterState = {
    apiVersion: STATE_API_VERSION,
    kind: 'LocalCluster',
    name: layout.name,
    nodes: options.nodes ?? DEFAULT_NODES,
    ports: { apiserver, etcdClient, etcdPeer, kwok } as ClusterPorts,
    kubernetesVersion: KUBERNETES_VERSION,
    etcdVersion: ETCD_VERSION,
    kwokVersion: KWOK_VERSION,
    unsafeNoFsync: options.unsafeNoFsync ?? false,
    createdAt: new Date().toISOString(),
  };
  await writeState(layout, state);
  return { state, repinned: false };
}

async function pickPorts(apiserverPort: number | undefined): Promise<number[]> {
  if (apiserverPort === undefined) return freePorts(4);
  if (!Number.isInteger(apiserverPort) || apiserverPort < 1 || apiserverPort > 65535) {
    throw new UsageError(`--port must be a TCP port number, got ${apiserverPort}`);
  }
  if (await isPortBusy(apiserverPort)) {
    throw new PortInUseError(`port 127.0.0.1:${apiserverPort} is already in use`, {
      hint: 'choose another --port, or leave it out to pick a free one',
    });
  }
  const others = (await freePorts(4)).filter((p) => p !== apiserverPort).slice(0, 3);
  return [apiserverPort, ...others];
}

async function assertPortsFree(layout: ClusterLayout, state: LocalClusterState, spec: ComponentSpec): Promise<void> {
  const ports: Record<ComponentName, number[]> = {
    etcd: [state.ports.etcdClient, state.ports.etcdPeer],
    'kube-apiserver': [state.ports.apiserver],
    'kube-controller-manager': [],
    'kube-scheduler': [],
    kwok: [state.ports.kwok],
  };
  for (const port of ports[spec.name]) {
    // A process we just stopped may still be tearing down its threads and sockets: give it a moment.
    const free = await waitFor(async () => ((await isPortBusy(port)) ? undefined : true), { timeoutMs: 5_000, intervalMs: 50 });
    if (!free) {
      throw new PortInUseError(`port 127.0.0.1:${port} that ${spec.name} of local cluster "${layout.name}" needs is in use by another process`, {
        hint: `stop the process on that port (\`ss -ltnp 'sport = :${port}'\` names it), or run \`infra local down ${layout.name} --purge\` and create the cluster again on new ports`,
      });
    }
  }
}

