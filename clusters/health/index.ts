/** Cluster health (probes, state machine, store, monitor) and capacity: what placement and failover read. */
export * from './types.ts';
export { probeCluster, PROBE_LEASE, PROBE_NAMESPACE, type ProbeClient, type ProbeOptions } from './probe.ts';
export { nextHealth, clocksChanged, publicHealth } from './health-state.ts';
export { ConfigMapHealthStore, FileHealthStore, mergeHealth, healthObjectName, defaultHealthFile, HEALTH_NAMESPACE, type HealthStore } from './health-store.ts';
export { readCapacity, capacityOf, freeOf } from './capacity.ts';
export { HealthMonitor, HEALTH_STATES, type HealthMonitorOptions } from './monitor.ts';
export { CapacityPoller, DEFAULT_CAPACITY_INTERVAL_MS, type CapacityPollerOptions } from './capacity-poller.ts';
export { HealthStoreError, QuantityFormatError } from './health-errors.ts';
