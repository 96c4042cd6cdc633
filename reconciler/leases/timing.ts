import { UsageError } from '../../stacks/errors.ts';

/**
 * Lease timing, client-go style: a hold is renewed every retry period; the holder trusts it
 * only until (start of its last successful renew request) + renewDeadline; others may take it
 * once they have seen no renewal for leaseDuration. renewDeadline < leaseDuration leaves the
 * difference for requests already on the wire when the holder stops.
 */
export interface LeaseTiming {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** Checks the three durations against each other; every problem in one error. */
export function leaseTiming(partial: Partial<LeaseTiming> = {}): LeaseTiming {
  const t = { ...DEFAULT_LEASE_TIMING, ...partial };
  const problems: string[] = [];
  if (t.leaseDurationMs < 1000 || t.leaseDurationMs % 1000 !== 0) problems.push(`lease duration ${t.leaseDurationMs} ms must be whole seconds ≥ 1s (Lease.spec.leaseDurationSeconds)`);
  if (!(t.renewDeadlineMs < t.leaseDurationMs)) problems.push(`renew deadline ${t.renewDeadlineMs} ms must be shorter than the lease duration ${t.leaseDurationMs} ms`);
  if (!(t.retryPeriodMs * 2 <= t.renewDeadlineMs)) problems.push(`retry period ${t.retryPeriodMs} ms must be at most half the renew deadline ${t.renewDeadlineMs} ms (two tries before a hold lapses)`);
  if (problems.length > 0) throw new UsageError(`lease timing: ${problems.join('; ')}`, { hint: 'defaults: --lease-duration 15s --renew-deadline 10s --retry-period 2s' });
  return t;
}
