import { describe, expect, it } from 'vitest';
import { statusOf, type SyncFacts } from '../../reconciler/sync/status-of.ts';
import type { PlannedObject } from '../../reconciler/sync/target.ts';

const planned = (name: string, change: PlannedObject['change'], extra: Partial<PlannedObject> = {}): PlannedObject => ({
  manifest: { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }, origin: { file: `${name}.yaml` } },
  object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'web' } },
  key: `/ConfigMap/web/${name}`,
  digest: `d-${name}`,
  info: undefined,
  stage: 2,
  change,
  drift: [],
  ...extra,
});

const facts = (over: Partial<SyncFacts> = {}): SyncFacts => ({
  app: 'web',
  cluster: 'core',
  revision: 'r2',
  detectOnly: false,
  previous: { inventory: { revision: 'r1', entries: [{ key: '/ConfigMap/web/a', apiVersion: 'v1', digest: 'old', rv: '7' }] }, status: { app: 'web', cluster: 'core', revision: 'r1', sync: 'Synced', health: 'Healthy', drifted: [], unhealthy: [], objects: 1, lastAppliedRevision: 'r1' } },
  objects: [planned('a', 'apply'), planned('b', 'unchanged', { liveRv: '9' })],
  applied: new Map([['/ConfigMap/web/a', '12']]),
  kept: [],
  errors: [],
  health: 'Healthy',
  unhealthy: [],
  ...over,
});

describe('statusOf: what a finished sync records', () => {
  it('a clean sync: Synced, the new revision applied, inventory with the resourceVersions just seen', () => {
    const { status, inventory } = statusOf(facts());
    expect(status).toEqual({ app: 'web', cluster: 'core', revision: 'r2', sync: 'Synced', health: 'Healthy', drifted: [], unhealthy: [], objects: 2, lastAppliedRevision: 'r2' });
    expect(inventory).toEqual({
      revision: 'r2',
      entries: [
        { key: '/ConfigMap/web/a', apiVersion: 'v1', digest: 'd-a', rv: '12' },
        { key: '/ConfigMap/web/b', apiVersion: 'v1', digest: 'd-b', rv: '9' },
      ],
    });
  });

  it('an apply error: Failed and Degraded, the previous revision stays the applied one', () => {
    const { status, inventory } = statusOf(facts({ errors: [{ reason: 'ApplyFailed', message: 'boom' }], health: 'Healthy' }));
    expect(status).toMatchObject({ sync: 'Failed', health: 'Degraded', error: { reason: 'ApplyFailed', message: 'boom' }, lastAppliedRevision: 'r1' });
    expect(inventory.revision).toBe('r1');
  });

  it('unhealthy objects: HealthCheckFailed naming them', () => {
    const { status } = statusOf(facts({ health: 'Progressing', unhealthy: ['Deployment web/web: 0/2 replicas available'] }));
    expect(status).toMatchObject({ sync: 'Synced', health: 'Progressing', error: { reason: 'HealthCheckFailed', message: 'Deployment web/web: 0/2 replicas available' } });
  });

  it('drift in detect mode: OutOfSync with the drifted fields', () => {
    const { status } = statusOf(facts({ detectOnly: true, objects: [planned('a', 'drifted', { drift: ['/data/x'] })], applied: new Map() }));
    expect(status).toMatchObject({ sync: 'OutOfSync', drifted: [{ object: 'ConfigMap web/a', fields: ['/data/x'] }] });
  });

  it('keeps stale entries that were not pruned', () => {
    const kept = [{ key: '/ConfigMap/web/old', apiVersion: 'v1', digest: 'x' }];
    expect(statusOf(facts({ kept })).inventory.entries.map((e) => e.key)).toEqual(['/ConfigMap/web/a', '/ConfigMap/web/b', '/ConfigMap/web/old']);
  });
});

describe('statusOf: a prune that did not finish', () => {
  it('is Failed with its reason, keeps the entry, but the revision counts as applied', () => {
    const kept = [{ key: '/Namespace//gone', apiVersion: 'v1', digest: 'x' }];
    const { status, inventory } = statusOf(facts({ kept, errors: [{ reason: 'PruneBlocked', message: 'Namespace gone is still being deleted: x', where: 'cluster core: Namespace gone' }] }));
    expect(status).toMatchObject({ sync: 'Failed', health: 'Healthy', error: { reason: 'PruneBlocked' }, lastAppliedRevision: 'r2' });
    expect(inventory.revision).toBe('r2');
    expect(inventory.entries.map((e) => e.key)).toContain('/Namespace//gone');
  });
});
