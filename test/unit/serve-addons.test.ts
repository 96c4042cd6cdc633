import { describe, expect, it } from 'vitest';
import { appliedAfter, type AddonSetEntry } from '../../modules/addons/preview.ts';
import { builtinAppSpec } from '../../reconciler/builtin-apps.ts';
import { dependencyBlocker, outsideDependencies } from '../../reconciler/dependencies.ts';
import { EMPTY_INVENTORY } from '../../reconciler/inventory/inventory.ts';
import { outcomeOf } from '../../reconciler/serve/app-job.ts';
import type { AppStatus } from '../../reconciler/types.ts';

/** The pure pieces of `infra serve` with add-ons: dependencies outside a round, the retry of a held app, the applied-add-ons record. */

const entry = (addon: string, cluster: string, digest = 'd1'): AddonSetEntry => ({ addon, cluster, version: 'v1', digest });
const status = (app: string, over: Partial<AppStatus> = {}): AppStatus => ({ app, cluster: 'c1', revision: 'r', sync: 'Synced', health: 'Healthy', drifted: [], unhealthy: [], objects: 1, ...over });

describe('dependsOn outside the round', () => {
  const flannel = builtinAppSpec('addon-flannel', ['c1']);
  const storage = builtinAppSpec('addon-local-path', ['c1'], ['addon-flannel']);
  const web = { ...builtinAppSpec('web', ['c1']), dependsOn: ['addon-flannel', 'addon-local-path'] };

  it('names the dependencies a subset of apps does not hold, and none for the whole stack', () => {
    expect([...outsideDependencies([flannel, storage, web], [web]).keys()]).toEqual(['addon-flannel', 'addon-local-path']);
    expect([...outsideDependencies([flannel, storage, web], [storage, web]).keys()]).toEqual(['addon-flannel']);
    expect(outsideDependencies([flannel, storage, web], [flannel, storage, web]).size).toBe(0);
  });

  it('lets the dependent go only when the dependency\'s record says Synced and Healthy', () => {
    expect(dependencyBlocker('addon-flannel', { inventory: EMPTY_INVENTORY, status: status('addon-flannel') })).toBeUndefined();
    expect(dependencyBlocker('addon-flannel', { inventory: EMPTY_INVENTORY })?.message).toBe('waits for app "addon-flannel" to be Synced and Healthy (it was never applied here)');
    expect(dependencyBlocker('addon-flannel', { inventory: EMPTY_INVENTORY, status: status('addon-flannel', { health: 'Progressing' }) })?.message).toContain('its last round left it Progressing');
    expect(dependencyBlocker('addon-flannel', { inventory: EMPTY_INVENTORY, status: status('addon-flannel', { sync: 'Failed', error: { reason: 'ApplyFailed', message: 'x' } }) })).toMatchObject({ reason: 'DependencyNotReady', message: expect.stringContaining('Failed (ApplyFailed)') });
    expect(dependencyBlocker('addon-flannel', { inventory: EMPTY_INVENTORY, status: status('addon-flannel'), ownedBy: 'other' })?.message).toContain('stack "other"');
  });

  it('a job of one app retries while a dependency applied by another job is not ready; a whole-stack round does not', () => {
    const held = [status('web', { sync: 'Failed', error: { reason: 'DependencyNotReady', message: 'waits' } })];
    expect(outcomeOf(held, new Set(['web']))).toMatchObject({ kind: 'retry' });
    expect(outcomeOf(held)).toEqual({ kind: 'done' });
  });
});

describe('the applied add-ons after a round (what infra preview compares with)', () => {
  const before = [entry('flannel', 'c1'), entry('local-path', 'c1'), entry('runtimes', 'c1')];

  it('a round of some apps changes only the add-ons it held', () => {
    const wanted = [entry('flannel', 'c1', 'd2'), entry('local-path', 'c1', 'd2')];
    expect(appliedAfter(before, wanted, [{ addon: 'flannel', cluster: 'c1', synced: true }], false)).toEqual([entry('flannel', 'c1', 'd2'), entry('local-path', 'c1'), entry('runtimes', 'c1')]);
    // A user app's job holds no add-on: nothing changes.
    expect(appliedAfter(before, wanted, [], false)).toEqual(before);
  });

  it('a failed add-on keeps what was applied before; a whole-stack round drops the add-ons that left the stack', () => {
    const wanted = [entry('flannel', 'c1', 'd2'), entry('local-path', 'c1', 'd2'), entry('flannel', 'c2')];
    const round = [{ addon: 'flannel', cluster: 'c1', synced: false }, { addon: 'local-path', cluster: 'c1', synced: true }, { addon: 'flannel', cluster: 'c2', synced: false }];
    expect(appliedAfter(before, wanted, round, true)).toEqual([entry('flannel', 'c1'), entry('local-path', 'c1', 'd2')]);
  });
});
