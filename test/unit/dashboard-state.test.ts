import { describe, expect, it } from 'vitest';
import { DashboardState, errorOf, HISTORY_LENGTH, whereOf, type DashboardEvent } from '../../reconciler/dashboard/state.ts';
import { objectRows } from '../../reconciler/dashboard/backend.ts';
import { eventText } from '../../reconciler/dashboard/routes.ts';
import type { StackSpec } from '../../stacks/load.ts';
import type { AppStatus } from '../../reconciler/types.ts';

function stackOf(apps: string[], clusters: { name: string; site?: string; labels?: Record<string, string> }[], sites: { name: string; edge: boolean }[] = []): StackSpec {
  return {
    name: 's',
    file: 's.yaml',
    sites: sites.map((s) => ({ ...s, kind: 'local', network: 'reliable', labels: {} })),
    hosts: [],
    decisions: [],
    clusters: clusters.map((c) => ({ labels: {}, ...c })),
    gitops: { sources: [], apps: apps.map((name) => ({ name, source: 'git', path: name, targets: { clusters: clusters.map((c) => c.name) } })) },
  } as unknown as StackSpec;
}

function status(app: string, cluster: string, over: Partial<AppStatus> = {}): AppStatus {
  return { app, cluster, revision: 'r1', sync: 'Synced', health: 'Healthy', drifted: [], unhealthy: [], objects: 1, ...over };
}

function setup(apps = ['web', 'api'], clusters = [{ name: 'c2' }, { name: 'c1' }]) {
  const state = new DashboardState(() => Date.UTC(2026, 0, 1));
  const stack = stackOf(apps, clusters);
  state.useStack(() => stack);
  const events: DashboardEvent[] = [];
  state.subscribe((e) => events.push(e));
  return { state, events };
}

describe('dashboard state', () => {
  it('emits a cell only when it changed, and Progressing only for a started round', () => {
    const { state, events } = setup();
    state.finished(['web'], [status('web', 'c1'), status('web', 'c2')], 0, 10);
    expect(events.map((e) => e.type === 'cell' && `${e.app}/${e.cluster}/${e.cell.sync}`)).toEqual(['web/c1/Synced', 'web/c2/Synced']);
    events.length = 0;
    state.finished(['web'], [status('web', 'c1'), status('web', 'c2')], 0, 10);
    expect(events).toEqual([]); // an unchanged round (a drift re-check) sends nothing
    state.started(['web']);
    expect(events.map((e) => e.type === 'cell' && `${e.cluster}/${e.cell.sync}/${e.cell.health}`)).toEqual(['c1/Progressing/Healthy', 'c2/Progressing/Healthy']);
    events.length = 0;
    state.finished(['web'], [status('web', 'c1', { revision: 'r2' })], 0, 10);
    // c2 got no status: it does not stay Progressing for ever.
    expect(events.map((e) => e.type === 'cell' && `${e.cluster}/${e.cell.sync}/${e.cell.revision}`)).toEqual(['c1/Synced/r2', 'c2/Unknown/r1']);
  });

  it('names the file and line, or the object, of a failure', () => {
    const { state } = setup();
    state.finished(['web'], [status('web', 'c1', { sync: 'Failed', health: 'Unknown', error: { reason: 'ValidationFailed', message: 'bad field', where: 'apps/web/deploy.yaml:7' } })], 0, 5);
    expect(state.cellsOf('web').get('c1')?.lastError).toEqual({ message: 'bad field', reason: 'ValidationFailed', file: 'apps/web/deploy.yaml', line: 7 });
    expect(whereOf('Deployment web/web')).toEqual({ object: 'Deployment web/web' });
    expect(whereOf('cluster c1')).toEqual({ object: 'cluster c1' });
    expect(whereOf('apps/web/kustomization.yaml')).toEqual({ file: 'apps/web/kustomization.yaml' });
    expect(errorOf({ reason: 'ValidationFailed', message: 'ConfigMap default/web-config: .data.x: unknown field', where: 'apps/web/cm.yaml:3' })).toEqual({ message: 'ConfigMap default/web-config: .data.x: unknown field', reason: 'ValidationFailed', file: 'apps/web/cm.yaml', line: 3, object: 'ConfigMap default/web-config' });
    expect(errorOf({ reason: 'ValidationFailed', message: 'unknown kind Widget in example.com/v1 (Widget default/w): not served', where: 'a.yaml:1' }).object).toBe('Widget default/w');
    expect(errorOf({ reason: 'Conflict', message: 'Deployment web/web: conflict', where: 'cluster c1: Deployment web/web' }).object).toBe('Deployment web/web');
    expect(errorOf({ reason: 'SourceFailed', message: 'git fetch failed' }).object).toBeUndefined();
    expect(state.historyOf('web')[0]).toMatchObject({ result: 'Failed', durationMs: 5, message: 'c1: ValidationFailed: bad field (apps/web/deploy.yaml:7)' });
  });

  it('keeps the last 20 reconciles per app, newest first', () => {
    const { state } = setup();
    for (let i = 0; i < 25; i++) state.finished(['web'], [status('web', 'c1', { revision: `r${i}` })], i * 1000, i);
    const h = state.historyOf('web');
    expect(h).toHaveLength(HISTORY_LENGTH);
    expect(h[0]?.revision).toBe('r24');
    expect(h[19]?.revision).toBe('r5');
  });

  it('seeds from records without overriding what a round reported', () => {
    const { state } = setup();
    state.finished(['web'], [status('web', 'c1', { revision: 'new' })], 0, 1);
    state.seed([status('web', 'c1', { revision: 'old' }), status('api', 'c2', { revision: 'old' })]);
    expect(state.cellsOf('web').get('c1')?.revision).toBe('new');
    expect(state.cellsOf('api').get('c2')?.revision).toBe('old');
  });

  it('answers the overview sorted: apps by name, clusters by site kind then name', () => {
    const state = new DashboardState(() => 0);
    const stack = stackOf(['zeta', 'alpha'], [{ name: 'edge-2', site: 'shop', labels: {} }, { name: 'core', labels: { 'infra.dev/site-kind': 'cloud' } }, { name: 'edge-1', site: 'shop' }, { name: 'dc-1' }], [{ name: 'shop', edge: true }]);
    state.useStack(() => stack);
    state.finished(undefined, [status('zeta', 'edge-1'), status('zeta', 'core')], 0, 1);
    state.setSuspended('alpha', true);
    const o = state.overview();
    expect(o.clusters.map((c) => `${c.siteKind}:${c.name}`)).toEqual(['cloud:core', 'edge:edge-1', 'edge:edge-2', 'dc:dc-1']);
    expect(o.apps.map((a) => `${a.name}:${a.suspended}`)).toEqual(['alpha:true', 'zeta:false']);
    expect(Object.keys(o.apps[1]?.cells ?? {})).toEqual(['core', 'edge-1']);
    expect(JSON.stringify(state.overview())).toBe(JSON.stringify(o));
  });

  it('answers 1,000 apps × 3 clusters from memory fast', () => {
    const apps = Array.from({ length: 1000 }, (_, i) => `app-${String(i).padStart(4, '0')}`);
    const { state } = setup(apps, [{ name: 'c1' }, { name: 'c2' }, { name: 'c3' }]);
    state.finished(undefined, apps.flatMap((a) => ['c1', 'c2', 'c3'].map((c) => status(a, c))), 0, 1);
    const t0 = performance.now();
    const text = JSON.stringify(state.overview());
    const ms = performance.now() - t0;
    expect(JSON.parse(text).apps).toHaveLength(1000);
    expect(ms).toBeLessThan(250);
  });

  it('writes one SSE event per change, data on one line', () => {
    expect(eventText({ type: 'app', app: 'web', suspended: true })).toBe('event: app\ndata: {"app":"web","suspended":true}\n\n');
  });

  it('gives each object the health the last round saw', () => {
    const rows = objectRows(['apps/Deployment/web/web', '/Service/web/web', '/Namespace//web'], status('web', 'c1', { health: 'Progressing', unhealthy: ['Deployment web/web: 0/2 replicas available'] }));
    expect(rows).toEqual([
      { kind: 'Deployment', namespace: 'web', name: 'web', health: 'Progressing', message: '0/2 replicas available' },
      { kind: 'Service', namespace: 'web', name: 'web', health: 'Healthy' },
      { kind: 'Namespace', name: 'web', health: 'Healthy' },
    ]);
  });
});
