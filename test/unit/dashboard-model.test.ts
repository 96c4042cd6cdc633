import { describe, expect, it } from 'vitest';
import { appIndex, applyEvent, cellTone, errorWhere, filterApps, groupColumns, labelMatcher, siteChoices, visibleColumns, visibleRows, type AppRow, type Cell, type ClusterColumn, type Overview } from '../../dashboard/src/model.ts';
import { parseRoute } from '../../dashboard/src/route.ts';

const synced: Cell = { sync: 'Synced', health: 'Healthy', revision: 'abc' };
const failed: Cell = { sync: 'Failed', health: 'Healthy', lastError: { message: 'bad yaml', file: 'app/cm.yaml', line: 3, object: 'ConfigMap/default/cm' } };
const clusters: ClusterColumn[] = [
  { name: 'c-cloud', site: 'eu-west', siteKind: 'cloud', labels: {} },
  { name: 'a-edge', site: 'shop-12', siteKind: 'edge', labels: {} },
  { name: 'b-dc', site: 'dc', siteKind: 'dc', labels: {} },
  { name: 'a-cloud', site: 'eu-west', siteKind: 'cloud', labels: {} },
];
const app = (name: string, labels: Record<string, string>, cells: Record<string, Cell>, suspended = false): AppRow => ({ name, source: 'repo', labels, suspended, cells });
const apps = [app('api', { team: 'web', env: 'prod' }, { 'c-cloud': synced, 'a-edge': failed }), app('db', { team: 'data' }, { 'b-dc': synced }, true), app('web', { team: 'web' }, { 'a-cloud': { sync: 'OutOfSync', health: 'Missing' } })];

describe('dashboard model', () => {
  it('groups columns by site kind in the order cloud, edge, dc, keeping the server order inside a group', () => {
    expect(groupColumns(clusters).map((g) => [g.kind, g.clusters.map((c) => c.name)])).toEqual([
      ['cloud', ['c-cloud', 'a-cloud']],
      ['edge', ['a-edge']],
      ['dc', ['b-dc']],
    ]);
    expect(groupColumns(clusters.filter((c) => c.siteKind === 'edge')).map((g) => g.kind)).toEqual(['edge']);
  });

  it('gives each state a tone, failures and degraded first', () => {
    expect(cellTone(synced)).toBe('ok');
    expect(cellTone(failed)).toBe('bad');
    expect(cellTone({ sync: 'Synced', health: 'Degraded' })).toBe('bad');
    expect(cellTone({ sync: 'Progressing', health: 'Healthy' })).toBe('progress');
    expect(cellTone({ sync: 'Synced', health: 'Progressing' })).toBe('progress');
    expect(cellTone({ sync: 'OutOfSync', health: 'Healthy' })).toBe('warn');
    expect(cellTone({ sync: 'Unknown', health: 'Unknown' })).toBe('unknown');
    expect(cellTone(undefined)).toBe('unknown');
  });

  it('names the file, line and object of an error, leaving out what is unknown', () => {
    expect(errorWhere(failed.lastError!)).toBe('app/cm.yaml:3 · ConfigMap/default/cm');
    expect(errorWhere({ message: 'x', file: 'a.yaml' })).toBe('a.yaml');
    expect(errorWhere({ message: 'x', object: 'Secret/s' })).toBe('Secret/s');
    expect(errorWhere({ message: 'x' })).toBe('');
  });

  it('matches labels by key=value and by key alone', () => {
    expect(labelMatcher('team=web env')({ team: 'web', env: 'prod' })).toBe(true);
    expect(labelMatcher('team=web,env=dev')({ team: 'web', env: 'prod' })).toBe(false);
    expect(labelMatcher('  ')({})).toBe(true);
  });

  it('filters by label, site and state on the visible cells', () => {
    const names = (f: Parameters<typeof filterApps>[2], site = '') => filterApps(apps, visibleColumns(clusters, site), f).map((a) => a.name);
    expect(names({ label: '', site: '', state: 'all' })).toEqual(['api', 'db', 'web']);
    expect(names({ label: 'team=web', site: '', state: 'all' })).toEqual(['api', 'web']);
    expect(names({ label: '', site: 'edge', state: 'all' }, 'edge')).toEqual(['api']);
    expect(names({ label: '', site: 'eu-west', state: 'all' }, 'eu-west')).toEqual(['api', 'web']);
    expect(names({ label: '', site: '', state: 'Failed' })).toEqual(['api']);
    expect(names({ label: '', site: 'cloud', state: 'Failed' }, 'cloud')).toEqual([]);
    expect(names({ label: '', site: '', state: 'problems' })).toEqual(['api', 'web']);
    expect(names({ label: '', site: '', state: 'Missing' })).toEqual(['web']);
    expect(names({ label: '', site: '', state: 'Suspended' })).toEqual(['db']);
    expect(siteChoices(clusters)).toEqual(['cloud', 'edge', 'dc', 'eu-west', 'shop-12']);
  });

  it('applies a live event to one app only, keeping the other rows as they were', () => {
    const overview: Overview = { generatedAt: 't', clusters, apps };
    const index = appIndex(apps);
    const next = applyEvent(overview, index, { type: 'cell', app: 'web', cluster: 'a-cloud', cell: synced });
    expect(next.apps[2]!.cells['a-cloud']).toEqual(synced);
    expect(next.apps[0]).toBe(apps[0]);
    expect(overview.apps[2]!.cells['a-cloud']!.sync, 'the old overview is not changed').toBe('OutOfSync');
    expect(applyEvent(overview, index, { type: 'app', app: 'api', suspended: true }).apps[0]!.suspended).toBe(true);
    expect(applyEvent(overview, index, { type: 'cell', app: 'gone', cluster: 'a-cloud', cell: synced })).toBe(overview);
    expect(applyEvent(overview, index, { type: 'cluster', cluster: 'b-dc', health: 'Unreachable' }).clusters.find((c) => c.name === 'b-dc')!.health).toBe('Unreachable');
  });

  it('renders only the rows in view, with overscan, clamped to the list', () => {
    expect(visibleRows(0, 640, 64, 1000, 8)).toEqual({ start: 0, end: 19 });
    expect(visibleRows(64 * 500, 640, 64, 1000, 8)).toEqual({ start: 492, end: 519 });
    expect(visibleRows(64 * 995, 640, 64, 1000, 8)).toEqual({ start: 987, end: 1000 });
    expect(visibleRows(0, 640, 64, 3, 8)).toEqual({ start: 0, end: 3 });
  });

  it('routes hashes to pages', () => {
    expect(parseRoute('')).toEqual({ page: 'overview' });
    expect(parseRoute('#/apps/my%20app')).toEqual({ page: 'app', app: 'my app' });
    expect(parseRoute('#/clusters/c1')).toEqual({ page: 'cluster', cluster: 'c1' });
    expect(parseRoute('#/nowhere')).toEqual({ page: 'overview' });
  });
});
