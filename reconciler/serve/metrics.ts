import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The Prometheus metrics of `infra serve` (prom-client). One registry per server, so tests and
 * several servers in one process never share counters. Other rooms increment theirs: the
 * webhook receiver `webhookRequests`, the lease shards `leaseOwned`.
 */
export class ServeMetrics {
  readonly registry = new Registry();

  /** Seconds a reconcile of an app took, observed once per target cluster with that cluster's result. */
  readonly reconcileDuration = new Histogram({
    name: 'infra_reconcile_duration_seconds',
    help: 'Duration of a reconcile of an app, per target cluster and result (synced, failed, unhealthy).',
    labelNames: ['app', 'cluster', 'result'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  /** Reconcile jobs run, per app (a burst of triggers coalesces into one). */
  readonly reconcileRuns = new Counter({
    name: 'infra_reconcile_runs_total',
    help: 'Reconcile jobs run per app (triggers that arrive while one waits or runs coalesce).',
    labelNames: ['app'] as const,
    registers: [this.registry],
  });

  /** Rounds run: a batch of apps of one source is one round (compare with the runs per app). */
  readonly reconcileRounds = new Counter({ name: 'infra_reconcile_rounds_total', help: 'Reconcile rounds run (the apps of one source that are ready together share one).', registers: [this.registry] });

  readonly lastAppliedRevision = new Gauge({
    name: 'infra_app_last_applied_revision_info',
    help: 'The revision last applied per app and cluster (value 1; the revision is a label).',
    labelNames: ['app', 'cluster', 'revision'] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({ name: 'infra_queue_depth', help: 'Jobs waiting to start in the work queue.', registers: [this.registry] });

  readonly queueWait = new Histogram({
    name: 'infra_queue_wait_seconds',
    help: 'Time from the first trigger of a job to its start.',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  readonly queueRetries = new Counter({ name: 'infra_queue_retries_total', help: 'Jobs put back with backoff, per app.', labelNames: ['app'] as const, registers: [this.registry] });

  /** Incremented by the webhook receiver (reconciler/webhooks/). */
  readonly webhookRequests = new Counter({
    name: 'infra_webhook_requests_total',
    help: 'Webhook requests by provider and result (accepted, ping, unauthorized, malformed, too_large, ignored, replay, rate_limited).',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });

  /** Set by the lease shards (reconciler/leases/): 1 while this replica holds the lease. */
  readonly leaseOwned = new Gauge({ name: 'infra_lease_owned', help: 'Leases this replica holds (1) or not (0).', labelNames: ['lease'] as const, registers: [this.registry] });

  readonly sourcePolls = new Counter({ name: 'infra_source_polls_total', help: 'Source polls by source and result (unchanged, changed, failed).', labelNames: ['source', 'result'] as const, registers: [this.registry] });

  readonly stackLoads = new Counter({ name: 'infra_stack_loads_total', help: 'Stack (re)loads from Git by result (loaded, invalid).', labelNames: ['result'] as const, registers: [this.registry] });

  /** Incremented by the failover controller (reconciler/failover/) for each placement move. */
  readonly placementMoves = new Counter({ name: 'infra_placement_moves_total', help: 'Placement moves per app, from, to and reason (failover, failback, placement, purge).', labelNames: ['app', 'from', 'to', 'reason'] as const, registers: [this.registry] });

  /** Set by the cluster health monitor: 1 for the cluster's current state, 0 for the others. */
  readonly clusterHealth = new Gauge({ name: 'infra_cluster_health', help: 'Cluster health from the probes of infra serve (1 for the current state).', labelNames: ['cluster', 'state'] as const, registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'infra_' });
  }

  /** The revision of an app on a cluster, dropping the series of the previous one. */
  setLastApplied(app: string, cluster: string, revision: string, previous?: string): void {
    if (previous && previous !== revision) this.lastAppliedRevision.remove({ app, cluster, revision: previous });
    this.lastAppliedRevision.set({ app, cluster, revision }, 1);
  }
}
