import type { ClusterHealth, HealthRecord, HealthState, HealthThresholds, ProbeResult } from './types.ts';

/**
 * The health state machine as a pure function: previous record + one probe + now → next record.
 *
 * - A cluster nothing is known about is Ready on its first good probe (there is no failure clock
 *   a lucky probe could reset, and a placement made at start must not prefer whichever cluster
 *   happened to answer twice first), and Unknown or NotReady on a failing one (its non-Ready
 *   stretch begins then).
 * - Ready → NotReady (answered but failing) or Unknown (no answer) after `failureThreshold`
 *   consecutive failing probes; `unhealthySince` starts then.
 * - While not Ready, the state follows the latest failing probe (NotReady <-> Unknown) at once,
 *   `since` moves, `unhealthySince` does NOT: wobble never resets the failure clock.
 * - Not Ready → Ready after `successThreshold` consecutive good probes; `readySince` starts then.
 */
export function nextHealth(prev: ClusterHealth | HealthRecord | undefined, probe: ProbeResult, now: number, thresholds: HealthThresholds, cluster?: string): HealthRecord {
  const observed = { reachable: probe.answered, latencyMs: probe.latencyMs };
  if (!prev && probe.ok) return { cluster: cluster ?? '', state: 'Ready', since: now, readySince: now, ...observed, failures: 0, successes: 1 };
  const base: HealthRecord = prev ? withCounts(prev) : { cluster: cluster ?? '', state: 'Unknown', since: now, unhealthySince: now, reachable: false, failures: 0, successes: 0 };

  if (probe.ok) {
    const successes = base.successes + 1;
    const { lastError: _dropped, ...kept } = base;
    if (base.state === 'Ready') return { ...kept, ...observed, failures: 0, successes };
    if (successes < Math.max(1, thresholds.successThreshold)) return { ...kept, ...observed, failures: 0, successes };
    return { cluster: base.cluster, state: 'Ready', since: now, readySince: now, ...observed, failures: 0, successes };
  }

  const failures = base.failures + 1;
  const target: HealthState = probe.answered ? 'NotReady' : 'Unknown';
  const lastError = probe.error ?? (probe.answered ? 'probe failed' : 'no answer');
  if (base.state === 'Ready') {
    if (failures < Math.max(1, thresholds.failureThreshold)) return { ...base, ...observed, failures, successes: 0, lastError };
    return { cluster: base.cluster, state: target, since: now, unhealthySince: now, ...observed, failures, successes: 0, lastError };
  }
  const unhealthySince = base.unhealthySince ?? base.since;
  const { readySince: _gone, ...rest } = base;
  if (base.state === target) return { ...rest, unhealthySince, ...observed, failures, successes: 0, lastError };
  return { ...rest, state: target, since: now, unhealthySince, ...observed, failures, successes: 0, lastError };
}

/** The persisted part changed (state or one of its clocks): worth a write and an onChange. */
export function clocksChanged(a: ClusterHealth | undefined, b: ClusterHealth): boolean {
  return !a || a.state !== b.state || a.since !== b.since || a.unhealthySince !== b.unhealthySince || a.readySince !== b.readySince;
}

/** Only the contract's fields (what other rooms and the store see). */
export function publicHealth(r: ClusterHealth): ClusterHealth {
  return {
    cluster: r.cluster,
    state: r.state,
    since: r.since,
    ...(r.unhealthySince !== undefined ? { unhealthySince: r.unhealthySince } : {}),
    ...(r.readySince !== undefined ? { readySince: r.readySince } : {}),
    reachable: r.reachable,
    ...(r.latencyMs !== undefined ? { latencyMs: r.latencyMs } : {}),
  };
}

function withCounts(h: ClusterHealth | HealthRecord): HealthRecord {
  const r = h as Partial<HealthRecord>;
  return { ...h, failures: r.failures ?? 0, successes: r.successes ?? 0 };
}
