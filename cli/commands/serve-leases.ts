import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { KubeClient } from '../../clusters/kube-client.ts';
import { LeaseOwnership } from '../../reconciler/leases/lease-ownership.ts';
import { LeaseStore } from '../../reconciler/leases/lease-store.ts';
import { shardGauge } from '../../reconciler/leases/metrics.ts';
import { ShardOwnership } from '../../reconciler/leases/shard-ownership.ts';
import { DEFAULT_SHARD_COUNT } from '../../reconciler/leases/shards.ts';
import { leaseTiming } from '../../reconciler/leases/timing.ts';
import { TriggerBoard } from '../../reconciler/leases/trigger-board.ts';
import type { Trigger } from '../../reconciler/serve/serve-loop.ts';
import type { ServeLog } from '../../reconciler/serve/log.ts';
import type { ServeMetrics } from '../../reconciler/serve/metrics.ts';
import { durationMs, wholeNumber } from '../options.ts';

/** `infra serve --management-kubeconfig`: replicas split the apps with shard Leases (reconciler/leases/). */

export interface LeaseOpts {
  managementKubeconfig?: string;
  leaseNamespace?: string;
  shards: number;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  identity?: string;
}

export function leaseOptions(command: Command): Command {
  return command
    .option('--management-kubeconfig <file>', 'split the apps with replicas through Leases in this cluster (default: no sharding, this process owns every app)')
    .option('--lease-namespace <ns>', 'namespace of the Leases (default $POD_NAMESPACE, else infra-system)')
    .option('--shards <n>', `shard Leases the apps are hashed into; the same on every replica (default ${DEFAULT_SHARD_COUNT})`, wholeNumber(1, 1024), DEFAULT_SHARD_COUNT)
    .option('--lease-duration <duration>', 'others take a shard not renewed for this long (default 15s)', durationMs, 15_000)
    .option('--renew-deadline <duration>', 'stop writing for a shard not renewed for this long; shorter than --lease-duration (default 10s)', durationMs, 10_000)
    .option('--retry-period <duration>', 'renew every (default 2s)', durationMs, 2_000)
    .option('--identity <name>', 'replica name in the Leases (default: hostname + random suffix)');
}

export interface ServeLeases {
  readonly ownership: LeaseOwnership;
  /** Shares a push this replica received with the others (recorded in the management cluster). */
  relay(t: Trigger): void;
  start(): Promise<void>;
  /** Watches the pushes the other replicas record and hands each to `trigger`; resolves once the first list is read. */
  watchTriggers(trigger: (t: Trigger) => void): Promise<void>;
  close(): void;
}

/** The shard ownership of this replica, or undefined without --management-kubeconfig. */
export function serveLeases(opts: LeaseOpts, metrics: ServeMetrics, log: ServeLog, apps: () => readonly string[]): ServeLeases | undefined {
  if (!opts.managementKubeconfig) return undefined;
  const timing = leaseTiming({ leaseDurationMs: opts.leaseDuration, renewDeadlineMs: opts.renewDeadline, retryPeriodMs: opts.retryPeriod });
  const client = new KubeClient('management', opts.managementKubeconfig);
  const namespace = opts.leaseNamespace ?? process.env['POD_NAMESPACE'] ?? 'infra-system';
  const identity = opts.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const shards = new ShardOwnership({
    store: new LeaseStore(client, namespace),
    identity,
    shardCount: opts.shards,
    timing,
    gauge: shardGauge(metrics.leaseOwned),
    log: (level, msg, fields) => log[level](msg, fields),
  });
  const board = new TriggerBoard(client, namespace, identity, (level, msg, fields) => log[level](msg, fields));
  const stopWatch = new AbortController();
  let watching: Promise<void> | undefined;
  return {
    ownership: new LeaseOwnership(shards, apps),
    relay: (t) => {
      const at = Date.now();
      board.publish({ source: t.source, ...(t.revision ? { revision: t.revision } : {}), at }).then(
        () => log.info('push shared with the replicas', { source: t.source, ...(t.revision ? { revision: t.revision } : {}) }),
        (err: unknown) => log.warn(`could not share the push with the replicas (they see it at their next poll): ${(err as Error).message}`, { source: t.source }),
      );
    },
    start: () => shards.start(),
    watchTriggers: (trigger) =>
      new Promise<void>((ready) => {
        watching = board.watch(
          (t) => {
            log.info(`push shared by ${t.by}`, { source: t.source, ...(t.revision ? { revision: t.revision } : {}) });
            trigger({ source: t.source, ...(t.revision ? { revision: t.revision } : {}), reason: `shared by ${t.by}`, relayed: true });
          },
          stopWatch.signal,
          ready,
        );
        void watching.finally(ready);
      }),
    close: () => {
      stopWatch.abort();
      void watching?.finally(() => client.close());
      if (!watching) client.close();
    },
  };
}
