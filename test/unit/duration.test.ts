import { describe, expect, it } from 'vitest';
import { durationMs, wholeNumber } from '../../cli/options.ts';
import { parseDuration } from '../../stacks/duration.ts';
import { parseStack } from '../../stacks/load.ts';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['120', 120_000],
    ['0', 0],
    [45, 45_000],
  ] as const)('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '2x', 'm', '-5s', '1.5m', 'NaN', '2m junk', ' s', '1e3'])('"%s" is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('a flag parser rejects garbage with an error commander reports for the flag', () => {
    expect(durationMs('2m')).toBe(120_000);
    expect(() => durationMs('2 minutes')).toThrow(/expected a duration like 90s, 2m, 1h or a number of seconds/);
    expect(() => wholeNumber(0, 10)('11')).toThrow(/from 0 to 10/);
    expect(() => wholeNumber(0, 10)('abc')).toThrow(/got "abc"/);
  });

  it('stack fields take the same syntax, and name the field on garbage', () => {
    const stack = (timeout: string) =>
      parseStack('s.yaml', `apiVersion: infra.dev/v1alpha1\nkind: Stack\nmetadata: {name: s}\nclusters: [{name: c}]\ngitops:\n  sources: [{name: g, url: ./r}]\n  apps: [{name: a, source: g, path: p, timeout: ${timeout}}]\n`);
    expect(stack('90').gitops.apps[0]?.timeoutMs).toBe(90_000);
    expect(stack('1m30s').gitops.apps[0]?.timeoutMs).toBe(90_000);
    expect(() => stack('soon')).toThrow(/apps\[0\]\.timeout: expected a duration like 90s, 2m, 1h or a number of seconds, got "soon"/);
  });
});
