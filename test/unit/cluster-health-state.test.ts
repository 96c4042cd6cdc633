import { describe, expect, it } from 'vitest';
import { clocksChanged, nextHealth } from '../../clusters/health/health-state.ts';
import { mergeHealth } from '../../clusters/health/health-store.ts';
import type { HealthRecord, ProbeResult } from '../../clusters/health/types.ts';

const OK: ProbeResult = { ok: true, answered: true, latencyMs: 5 };
const FAILING: ProbeResult = { ok: false, answered: true, latencyMs: 7, error: 'GET /readyz: 500 InternalError' };
const SILENT: ProbeResult = { ok: false, answered: false, latencyMs: 2000, error: 'no answer within 2000 ms' };
const T = { failureThreshold: 2, successThreshold: 2 };

/** Feeds probes one per 2 s of an injected clock starting at `start`; returns every record. */
function run(probes: readonly ProbeResult[], start = 1_000_000, prev?: HealthRecord): HealthRecord[] {
  const out: HealthRecord[] = [];
  let h = prev;
  probes.forEach((p, i) => {
    h = nextHealth(h, p, start + i * 2000, T, 'c1');
    out.push(h);
  });
  return out;
}

describe('nextHealth', () => {
  it('is Ready on its first good probe when nothing is known (no failure clock to protect)', () => {
    const [a] = run([OK]);
    expect(a).toMatchObject({ cluster: 'c1', state: 'Ready', since: 1_000_000, readySince: 1_000_000, reachable: true, latencyMs: 5 });
    expect(a!.unhealthySince).toBeUndefined();
  });

  it('starts Unknown on a failing first probe, its failure clock running, and needs successThreshold good probes', () => {
    const [a, b, c] = run([SILENT, OK, OK]);
    expect(a).toMatchObject({ cluster: 'c1', state: 'Unknown', since: 1_000_000, unhealthySince: 1_000_000, reachable: false });
    expect(b).toMatchObject({ state: 'Unknown', unhealthySince: 1_000_000, reachable: true });
    expect(c).toMatchObject({ state: 'Ready', since: 1_004_000, readySince: 1_004_000, reachable: true });
    expect(c!.unhealthySince).toBeUndefined();
  });

  it('leaves Ready only after failureThreshold failing probes: answered → NotReady, silent → Unknown', () => {
    const notReady = run([OK, OK, FAILING, FAILING]);
    expect(notReady[2]).toMatchObject({ state: 'Ready', since: 1_000_000, reachable: true });
    expect(notReady[3]).toMatchObject({ state: 'NotReady', since: 1_006_000, unhealthySince: 1_006_000, reachable: true });
    expect(notReady[3]!.readySince).toBeUndefined();
    const unknown = run([OK, OK, SILENT, SILENT]);
    expect(unknown[3]).toMatchObject({ state: 'Unknown', since: 1_006_000, unhealthySince: 1_006_000, reachable: false });
  });

  it('keeps unhealthySince across NotReady <-> Unknown wobble while since follows each state', () => {
    const r = run([OK, OK, SILENT, SILENT, FAILING, SILENT, FAILING, FAILING]);
    expect(r.slice(3).map((h) => h.state)).toEqual(['Unknown', 'NotReady', 'Unknown', 'NotReady', 'NotReady']);
    for (const h of r.slice(3)) expect(h.unhealthySince).toBe(1_006_000);
    expect(r[6]!.since).toBe(1_012_000);
    expect(r[7]!.since).toBe(1_012_000);
  });

  it('does not reset the failure clock on one lucky probe (successThreshold 2)', () => {
    const r = run([OK, OK, SILENT, SILENT, OK, SILENT, SILENT]);
    expect(r[4]).toMatchObject({ state: 'Unknown', unhealthySince: 1_006_000 });
    expect(r[6]).toMatchObject({ state: 'Unknown', unhealthySince: 1_006_000 });
  });

  it('one failing probe between good ones does not leave Ready (failureThreshold 2)', () => {
    const r = run([OK, OK, FAILING, OK, SILENT, OK]);
    expect(r.every((h) => h.state === 'Ready' && h.since === 1_000_000 && h.readySince === 1_000_000)).toBe(true);
  });

  it('recovers to Ready with a fresh readySince and no unhealthySince', () => {
    const r = run([OK, OK, SILENT, SILENT, OK, OK]);
    expect(r[5]).toMatchObject({ state: 'Ready', since: 1_010_000, readySince: 1_010_000 });
    expect(r[5]!.unhealthySince).toBeUndefined();
  });

  it('continues a loaded (restarted) record: the stored clocks are kept', () => {
    const loaded = { cluster: 'c1', state: 'Unknown' as const, since: 500, unhealthySince: 100, reachable: false };
    const h = nextHealth(loaded, FAILING, 9_000, T);
    expect(h).toMatchObject({ state: 'NotReady', since: 9_000, unhealthySince: 100 });
    const ready = { cluster: 'c1', state: 'Ready' as const, since: 400, readySince: 400, reachable: false };
    expect(nextHealth(ready, OK, 9_000, T)).toMatchObject({ state: 'Ready', since: 400, readySince: 400, reachable: true });
  });

  it('clocksChanged ignores latency and reachability, sees state and clocks', () => {
    const [, a, b] = run([SILENT, OK, OK]);
    expect(clocksChanged(undefined, a!)).toBe(true);
    expect(clocksChanged(a, b!)).toBe(true);
    expect(clocksChanged(b, run([SILENT, OK, OK, OK])[3]!)).toBe(false);
    expect(clocksChanged(b, { ...b!, latencyMs: 99, reachable: false })).toBe(false);
  });
});

describe('mergeHealth (two replicas writing one cluster)', () => {
  it('keeps the earlier clocks when both agree on the state, the newer record otherwise', () => {
    const stored = { cluster: 'c', state: 'Unknown' as const, since: 100, unhealthySince: 50, reachable: false };
    const mine = { cluster: 'c', state: 'Unknown' as const, since: 300, unhealthySince: 300, reachable: false };
    expect(mergeHealth(stored, mine)).toMatchObject({ since: 100, unhealthySince: 50 });
    const ready = { cluster: 'c', state: 'Ready' as const, since: 400, readySince: 400, reachable: true };
    expect(mergeHealth(stored, ready)).toEqual(ready);
  });
});
