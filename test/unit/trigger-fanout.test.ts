import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { supersedes, triggerName, triggerOf, TRIGGER_PREFIX } from '../../reconciler/leases/trigger-board.ts';
import type { Lease } from '../../reconciler/leases/lease-store.ts';
import { ServeLog } from '../../reconciler/serve/log.ts';
import { ServeMetrics } from '../../reconciler/serve/metrics.ts';
import { ServeLoop, type Trigger } from '../../reconciler/serve/serve-loop.ts';
import { parseStack } from '../../stacks/load.ts';

const lease = (annotations: Record<string, string>): Lease => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x', annotations }, spec: {} });

describe('trigger Leases', () => {
  it('names one Lease per source: a valid name, distinct for names that sanitize alike', () => {
    expect(triggerName('platform')).toMatch(new RegExp(`^${TRIGGER_PREFIX}platform-[0-9a-f]{8}$`));
    expect(triggerName('My_Repo')).not.toBe(triggerName('my-repo'));
    expect(triggerName('x'.repeat(300)).length).toBeLessThanOrEqual(63);
    expect(triggerName('___')).toMatch(/^infra-trigger-[0-9a-f]{8}$/);
  });

  it('reads a trigger back from annotations, and refuses a Lease without one', () => {
    const t = triggerOf(lease({ 'infra.dev/source': 'repo', 'infra.dev/revision': 'a'.repeat(40), 'infra.dev/time': '2026-11-26T04:00:00.123000Z', 'infra.dev/by': 'r1' }));
    expect(t).toEqual({ source: 'repo', revision: 'a'.repeat(40), at: Date.parse('2026-11-26T04:00:00.123Z'), by: 'r1' });
    expect(triggerOf(lease({ 'infra.dev/source': 'repo' }))).toBeUndefined();
    expect(triggerOf(lease({}))).toBeUndefined();
  });

  it('the newest push wins', () => {
    const older = { source: 'repo', at: 1_000, by: 'a', revision: '1' };
    const newer = { source: 'repo', at: 2_000, by: 'b', revision: '2' };
    expect(supersedes(newer, older)).toBe(true);
    expect(supersedes(older, newer)).toBe(false);
    expect(supersedes(older, undefined)).toBe(true);
  });
});

describe('ServeLoop relay', () => {
  const stack = parseStack(
    'stack.yaml',
    stringify({
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      metadata: { name: 'relay' },
      clusters: [],
      gitops: { sources: [{ name: 'repo', url: '/nonexistent/repo', ref: { branch: 'main' } }, { name: 'unused', url: '/nonexistent/other', ref: { branch: 'main' } }], apps: [{ name: 'app', source: 'repo', path: 'app' }] },
    }),
  );
  // Owns nothing: trigger() queues no work here, only the relay is observed.
  const owner = { owns: () => false, signal: () => undefined, ownsRemovals: () => false, release: async () => undefined };

  it('shares a push from outside with the replicas, never a poll nor a push another replica shared', () => {
    const relayed: Trigger[] = [];
    const loop = new ServeLoop({ stack, cacheRoot: '/nonexistent', metrics: new ServeMetrics({ processMetrics: false }), log: new ServeLog('json', () => undefined), ownership: owner, relay: (t) => relayed.push(t) });
    loop.trigger({ source: 'repo', revision: 'b'.repeat(40), reason: 'webhook' });
    loop.trigger({ source: 'repo', reason: 'poll' });
    loop.trigger({ source: 'repo', revision: 'c'.repeat(40), reason: 'shared by r2', relayed: true });
    loop.trigger({ source: 'unused', reason: 'webhook' });
    expect(relayed).toEqual([{ source: 'repo', revision: 'b'.repeat(40), reason: 'webhook' }]);
  });
});
