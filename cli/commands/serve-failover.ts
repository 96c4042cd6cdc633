import { join } from 'node:path';
import type { Command } from 'commander';
import { infraHome } from '../../clusters/host/paths.ts';
import { isTransient, KubeClient } from '../../clusters/kube-client.ts';
import { FailoverController } from '../../reconciler/failover/controller.ts';
import { recordMoveEvent } from '../../reconciler/failover/events.ts';
import { ConfigMapPlacementStore, FilePlacementStore, PLACEMENT_NAMESPACE, type PlacementStore } from '../../reconciler/failover/store.ts';
import { CapacityPoller, ConfigMapHealthStore, FileHealthStore, HEALTH_STATES, HealthMonitor, type ClusterHealth } from '../../clusters/health/index.ts';
import { removeDeparted } from '../../reconciler/removal.ts';
import { readRecord } from '../../reconciler/status/app-record.ts';
import type { ServeLog } from '../../reconciler/serve/log.ts';
import type { ServeMetrics } from '../../reconciler/serve/metrics.ts';
import type { ServeLoop } from '../../reconciler/serve/serve-loop.ts';
import { connect, kubeconfigOf } from '../../reconciler/targets.ts';
import type { StackSpec } from '../../stacks/load.ts';
import { durationMs } from '../options.ts';

/** `infra serve`'s failover: the placement store, the controller, and how it purges and reports. */

export function failoverOptions(command: Command): Command {
  return command.option('--probe-interval <duration>', 'probe every cluster this often when an app has a failover policy or the dashboard is on (default 2s)', durationMs, 2_000);
}

/** Where placement states live: the management cluster, else a private file per stack under $INFRA_HOME. */
export function placementStore(stack: string, managementKubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env): PlacementStore {
  if (managementKubeconfig) return new ConfigMapPlacementStore(new KubeClient('management', managementKubeconfig), PLACEMENT_NAMESPACE);
  return new FilePlacementStore(join(infraHome(env), 'serve', `placement-${stack}.json`));
}

export interface FailoverWiring {
  readonly controller: FailoverController;
  readonly store: PlacementStore;
  readonly monitor: HealthMonitor;
  readonly capacity: CapacityPoller;
  /** Loads the stored placements and clocks (before the first round), then probes until `signal` aborts. */
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Whether serve probes the clusters: for apps with a failover policy, and for the dashboard (its cluster
 * headers and pages show health and capacity). Without failover apps the controller has nothing to move.
 */
export function needsHealth(stack: StackSpec, ui: boolean): boolean {
  return ui || hasFailover(stack);
}

export function hasFailover(stack: StackSpec): boolean {
  return stack.gitops.apps.some((a) => a.placement?.failover !== undefined);
}

export function serveFailover(opts: {
  /** The stack's name (fixed for the process: it names the local state files). */
  stackName: string;
  stack: () => StackSpec;
  managementKubeconfig?: string;
  loop: () => ServeLoop;
  owns: (app: string) => boolean;
  signalOf: (app: string) => AbortSignal | undefined;
  probeIntervalMs: number;
  metrics: ServeMetrics;
  log: ServeLog;
  /** Every health change (state or clocks): the dashboard's cluster headers. */
  onHealth?: (cluster: string, health: ClusterHealth) => void;
}): FailoverWiring {
  const store = placementStore(opts.stackName, opts.managementKubeconfig);
  const management = opts.managementKubeconfig ? new KubeClient('management-events', opts.managementKubeconfig) : undefined;
  const clients = new Map<string, KubeClient>();
  const clientOf = (spec: StackSpec['clusters'][number]) => {
    let c = clients.get(spec.name);
    if (!c) clients.set(spec.name, (c = new KubeClient(spec.name, kubeconfigOf(spec))));
    return c;
  };
  let controller: FailoverController | undefined;
  // Capacity for placement, read apart from the probes; a cluster not read (yet, or failing) gets no capacity rule.
  const capacity = new CapacityPoller({ clusters: () => opts.stack().clusters.map(clientOf), onChange: () => controller?.poke(), onError: (err, cluster) => opts.log.warn(`cluster capacity: ${(err as Error).message}`, { cluster }) });
  const monitor = new HealthMonitor({
    clusters: () => opts.stack().clusters.map(clientOf),
    store: management ? new ConfigMapHealthStore(management) : new FileHealthStore(join(infraHome(), 'serve', `health-${opts.stackName}.json`)),
    intervalMs: opts.probeIntervalMs,
    onChange: (cluster, h, prev) => {
      if (prev?.state !== h.state) opts.log.info(`cluster health: ${h.state}`, { cluster });
      opts.onHealth?.(cluster, h);
      if (prev?.state !== h.state && h.state === 'Ready') capacity.refresh(cluster);
      controller?.poke();
    },
    onMetric: (cluster, state) => {
      for (const s of HEALTH_STATES) opts.metrics.clusterHealth.set({ cluster, state: s }, s === state ? 1 : 0);
    },
    onError: (err, cluster) => opts.log.warn(`cluster health: ${(err as Error).message}`, cluster ? { cluster } : {}),
  });
  controller = new FailoverController({
    stack: opts.stack,
    store,
    owns: opts.owns,
    signalOf: opts.signalOf,
    health: () => monitor.snapshot(),
    capacity: () => capacity.snapshot(),
    recordOf: (spec, app, signal) => readRecord(clientOf(spec), app, signal),
    reconcile: (app, reason) => opts.loop().enqueue(app, reason),
    purge: async (app, cluster, signal) => {
      const spec = opts.stack().clusters.find((c) => c.name === cluster);
      if (!spec) return true; // the cluster left the stack: the stack's own removal handles it
      const t = connect(spec, undefined, 8, opts.stack().name);
      try {
        const out = await removeDeparted([t], { stack: opts.stack().name, orphan: new Set(), placed: new Map(), writes: true, owner: (a) => (a === app ? (signal ? { signal } : {}) : undefined), ...(signal ? { signal } : {}) });
        const failed = out.find((r) => r.kind !== 'planned' && r.status.sync === 'Failed');
        if (failed) return false;
        const left = await readRecord(t.client, app, signal);
        return left.inventory.entries.length === 0 && left.status === undefined;
      } catch (err) {
        if (isTransient(err)) return false;
        throw err;
      } finally {
        t.client.close();
      }
    },
    onMove: (app, m) => {
      opts.metrics.placementMoves.inc({ app, from: m.from ?? '', to: m.to ?? '', reason: m.reason });
      if (management) {
        recordMoveEvent(management, app, m).catch((err: unknown) => opts.log.warn(`could not record the move's Event: ${(err as Error).message}`, { app }));
      }
    },
    log: (level, msg, fields) => opts.log[level](msg, fields),
  });
  const stopProbes = new AbortController();
  let probing: Promise<void> = Promise.resolve();
  let capacityLoop: Promise<void> = Promise.resolve();
  const ctl = controller;
  return {
    controller: ctl,
    store,
    monitor,
    capacity,
    start: async (signal) => {
      await monitor.load(signal);
      await ctl.load(signal);
      const running = AbortSignal.any([signal, stopProbes.signal]);
      probing = monitor.run(running);
      await capacity.readAll(running); // before the first decision (each read bounded by its timeout)
      capacityLoop = capacity.run(running);
    },
    stop: async () => {
      stopProbes.abort();
      await ctl.stop();
      await probing;
      await capacityLoop;
      for (const c of clients.values()) c.close();
      management?.close();
    },
  };
}
