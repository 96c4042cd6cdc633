/**
 * Cluster health and capacity as the placement engine sees them. They live here, in clusters/, because the probes and the
 * capacity reader produce them and clusters/ may not import reconciler/; reconciler/place
 * imports them from this file.
 */

export type HealthState = 'Ready' | 'NotReady' | 'Unknown';

export interface ClusterHealth {
  readonly cluster: string;
  readonly state: HealthState;
  /** ms since the epoch: when this state began. */
  readonly since: number;
  /** Start of the current non-Ready stretch; NOT reset by NotReady <-> Unknown wobble. */
  readonly unhealthySince?: number;
  /** Start of the current Ready stretch (set only while Ready). */
  readonly readySince?: number;
  /** The last probe got an answer from the apiserver (even a failing one). */
  readonly reachable: boolean;
  readonly latencyMs?: number;
}

export interface Resources {
  readonly cpuMilli: number;
  readonly memoryBytes: number;
  readonly pods: number;
}

export interface ClusterCapacity {
  readonly cluster: string;
  readonly allocatable: Resources;
  readonly requested: Resources;
}

/** What one probe of one cluster found. */
export interface ProbeResult {
  /** /readyz said ok and the round-trip write succeeded. */
  readonly ok: boolean;
  /** The apiserver answered (a failing answer included); false: refused, reset or timed out. */
  readonly answered: boolean;
  /** Time of the whole probe (readyz + write), ms. */
  readonly latencyMs: number;
  /** What failed, one line (no secrets: status codes, reasons, error codes). */
  readonly error?: string;
}

/**
 * ClusterHealth plus the bookkeeping the state machine needs between probes (consecutive
 * counts, the last error). Only the ClusterHealth fields are persisted: after a restart the
 * counts start again, the clocks do not.
 */
export interface HealthRecord extends ClusterHealth {
  readonly failures: number;
  readonly successes: number;
  readonly lastError?: string;
}

export interface HealthThresholds {
  /** Consecutive failing probes before a Ready cluster becomes NotReady/Unknown. */
  readonly failureThreshold: number;
  /** Consecutive good probes before a non-Ready cluster becomes Ready (one lucky probe does not reset the failure clock). */
  readonly successThreshold: number;
}

export const DEFAULT_THRESHOLDS: HealthThresholds = { failureThreshold: 2, successThreshold: 2 };
export const DEFAULT_PROBE_INTERVAL_MS = 2_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;
