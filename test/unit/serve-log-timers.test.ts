import { describe, expect, it } from 'vitest';
import { ServeLog, scrub } from '../../reconciler/serve/log.ts';
import { jittered, SourceTimers } from '../../reconciler/serve/source-timers.ts';
import { parseStackLocation } from '../../reconciler/serve/stack-from-git.ts';
import type { GitSourceSpec } from '../../stacks/gitops.ts';
import { flush, ManualClock } from '../harness/manual-clock.ts';

describe('serve log', () => {
  it('writes one JSON object per line with the context fields', () => {
    const out: string[] = [];
    new ServeLog('json', (l) => out.push(l), () => Date.UTC(2026, 0, 2, 3, 4, 5)).info('Synced, Healthy', { app: 'web', cluster: 'edge', revision: 'a'.repeat(40), durationMs: 812, source: undefined });
    expect(out).toHaveLength(1);
    expect(out[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(out[0] as string)).toEqual({ time: '2026-01-02T03:04:05.000Z', level: 'info', msg: 'Synced, Healthy', app: 'web', cluster: 'edge', revision: 'a'.repeat(40), durationMs: 812 });
  });

  it('writes a human line by default, with a short revision', () => {
    const out: string[] = [];
    new ServeLog('human', (l) => out.push(l), () => 0).warn('RenderFailed: bad', { app: 'web', revision: 'b'.repeat(40) });
    expect(out).toEqual([`1970-01-01T00:00:00.000Z WARN  RenderFailed: bad  app=web revision=${'b'.repeat(12)}\n`]);
  });

  it('scrubs what looks like a credential from messages and fields', () => {
    expect(scrub('cannot fetch https://bot:ghp_abc123@git.example/x.git')).toBe('cannot fetch https://***@git.example/x.git');
    expect(scrub('Authorization: Bearer abc.def')).toBe('Authorization: Bearer ***');
    expect(scrub('X-Hub-Signature-256: sha256=0123456789abcdef0123456789abcdef')).toBe('X-Hub-Signature-256: sha256=***');
    const out: string[] = [];
    new ServeLog('json', (l) => out.push(l)).error('x', { source: 'https://u:pw@h/r' });
    expect(out[0]).not.toContain('pw');
  });
});

describe('serve timers', () => {
  it('jitters an interval by at most 10% either way', () => {
    expect(jittered(60_000, () => 0)).toBe(54_000);
    expect(jittered(60_000, () => 0.5)).toBe(60_000);
    expect(jittered(60_000, () => 0.999999)).toBeLessThanOrEqual(66_000);
  });

  it('polls each source on its interval and re-checks drift on its own, until stopped', async () => {
    const clock = new ManualClock();
    const polls: string[] = [];
    const drifts: string[] = [];
    const source = (name: string, intervalMs?: number): GitSourceSpec => ({ name, url: `/r/${name}`, ref: { branch: 'main' }, ...(intervalMs ? { intervalMs } : {}), driftIntervalMs: 5_000 });
    const timers = new SourceTimers([source('fast', 1_000), source('default')], clock, { poll: async (s) => void polls.push(s.name), drift: (s) => void drifts.push(s.name) });
    await clock.advance(3_000);
    expect(polls).toEqual(['fast', 'fast', 'fast']);
    await clock.advance(2_000);
    expect(drifts.sort()).toEqual(['default', 'fast']);
    await clock.advance(55_000);
    expect(polls.filter((p) => p === 'default')).toHaveLength(1);
    await timers.stop();
    const before = polls.length;
    await clock.advance(120_000);
    await flush();
    expect(polls).toHaveLength(before);
    expect(clock.sleepers).toBe(0);
  });
});

describe('--stack-from', () => {
  it('takes <source>:<path inside the repository>', () => {
    expect(parseStackLocation('platform:stacks/prod.yaml')).toEqual({ source: 'platform', path: 'stacks/prod.yaml' });
    for (const bad of ['platform', ':x.yaml', 'platform:', 'platform:/etc/x', 'platform:../x.yaml']) expect(() => parseStackLocation(bad), bad).toThrow(/--stack-from expects/);
  });
});

describe('source interval fields', () => {
  const stack = (extra: string) =>
    `apiVersion: infra.dev/v1alpha1\nkind: Stack\nclusters: [{name: a}]\ngitops:\n  sources:\n    - {name: repo, url: /r${extra}}\n`;
  it('reads interval and driftInterval as durations; absent means the serve defaults', async () => {
    const { parseStack } = await import('../../stacks/load.ts');
    expect(parseStack('s.yaml', stack(', interval: 30s, driftInterval: 10m')).gitops.sources[0]).toMatchObject({ intervalMs: 30_000, driftIntervalMs: 600_000 });
    expect(parseStack('s.yaml', stack('')).gitops.sources[0]).not.toHaveProperty('intervalMs');
    expect(() => parseStack('s.yaml', stack(', interval: soon'))).toThrow(/gitops\.sources\[0\]\.interval: expected a duration/);
  });
});

describe('serve loop readiness', () => {
  it('is not ready before the first round, nor once stopping', async () => {
    const { parseStack } = await import('../../stacks/load.ts');
    const { ServeLoop } = await import('../../reconciler/serve/serve-loop.ts');
    const { ServeMetrics } = await import('../../reconciler/serve/metrics.ts');
    const stack = parseStack('s.yaml', 'apiVersion: infra.dev/v1alpha1\nkind: Stack\nclusters: [{name: a}]\n');
    let released = 0;
    const loop = new ServeLoop({
      stack,
      cacheRoot: '/nonexistent',
      metrics: new ServeMetrics({ processMetrics: false }),
      log: new ServeLog('json', () => undefined),
      clock: new ManualClock(),
      ownership: { owns: () => true, signal: () => undefined, ownsRemovals: () => false, release: async () => void released++ },
    });
    expect(loop.readiness()).toEqual({ ready: false, why: 'the first round is not done' });
    await loop.start();
    await loop.idle();
    expect(loop.readiness(), 'a sharded replica with no apps has done its first round').toEqual({ ready: true, why: '' });
    expect(loop.watches('repo')).toBe(false);
    await Promise.all([loop.stop(), loop.stop()]);
    expect(loop.readiness()).toEqual({ ready: false, why: 'stopping' });
    expect(released, 'leases released once').toBe(1);
  });
});
