/**
 * The dashboard's data as the server sends it (/ui/api/*, reconciler/dashboard/routes.ts) and the pure decisions
 * over it: column groups, filters, live updates, what part of the grid is visible. No DOM here, so
 * test/unit/dashboard-model.test.ts checks it directly.
 */

export const SYNC_STATES = ['Synced', 'OutOfSync', 'Progressing', 'Failed', 'Unknown'] as const;
export const HEALTH_STATES = ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Unknown'] as const;
export const SITE_KINDS = ['cloud', 'edge', 'dc'] as const;

export type SyncState = (typeof SYNC_STATES)[number];
export type HealthState = (typeof HEALTH_STATES)[number];
export type SiteKind = (typeof SITE_KINDS)[number];

export interface CellError {
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly object?: string;
}

export interface Cell {
  readonly sync: SyncState;
  readonly health: HealthState;
  readonly revision?: string;
  readonly lastError?: CellError;
  readonly reconciledAt?: string;
}

export interface ClusterColumn {
  readonly name: string;
  readonly site: string;
  readonly siteKind: SiteKind;
  readonly labels: Readonly<Record<string, string>>;
  readonly health?: string;
}

export interface AppRow {
  readonly name: string;
  readonly source: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly suspended: boolean;
  readonly cells: Readonly<Record<string, Cell>>;
}

export interface Overview {
  readonly generatedAt: string;
  readonly clusters: readonly ClusterColumn[];
  readonly apps: readonly AppRow[];
}

/** What colour a cell gets; the text next to it always says the same in words. */
export type Tone = 'ok' | 'progress' | 'warn' | 'bad' | 'unknown';

export function cellTone(cell: Cell | undefined): Tone {
  if (!cell) return 'unknown';
  if (cell.sync === 'Failed' || cell.health === 'Degraded') return 'bad';
  if (cell.sync === 'Progressing' || cell.health === 'Progressing') return 'progress';
  if (cell.sync === 'OutOfSync' || cell.health === 'Missing') return 'warn';
  if (cell.sync === 'Synced' && cell.health === 'Healthy') return 'ok';
  return 'unknown';
}

/** "file:line · object" of an error, the parts the server knows. */
export function errorWhere(error: CellError): string {
  const file = error.file ? (error.line !== undefined ? `${error.file}:${error.line}` : error.file) : '';
  return [file, error.object ?? ''].filter((p) => p !== '').join(' · ');
}

export function shortRevision(revision: string | undefined): string {
  return revision ? revision.slice(0, 8) : '';
}

export interface ColumnGroup {
  readonly kind: SiteKind;
  readonly clusters: readonly ClusterColumn[];
}

/** Cluster columns grouped by site kind (cloud, edge, dc), in the server's order within a group. */
export function groupColumns(clusters: readonly ClusterColumn[]): ColumnGroup[] {
  return SITE_KINDS.map((kind) => ({ kind, clusters: clusters.filter((c) => c.siteKind === kind) })).filter((g) => g.clusters.length > 0);
}

export type StateFilter = 'all' | 'problems' | SyncState | Exclude<HealthState, 'Progressing' | 'Unknown'> | 'Suspended';
export const STATE_FILTERS: readonly StateFilter[] = ['all', 'problems', 'Synced', 'OutOfSync', 'Progressing', 'Failed', 'Unknown', 'Healthy', 'Degraded', 'Missing', 'Suspended'];

export interface Filters {
  /** `key=value` pairs (comma or space separated) the app's labels must all have; a bare `key` needs the label only. */
  readonly label: string;
  /** '' for every site, a site kind (`cloud`), or a site name. */
  readonly site: string;
  readonly state: StateFilter;
}

export const NO_FILTERS: Filters = { label: '', site: '', state: 'all' };

export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

export function labelMatcher(text: string): LabelMatcher {
  const terms = text
    .split(/[\s,]+/)
    .filter((t) => t !== '')
    .map((t) => {
      const eq = t.indexOf('=');
      return eq < 0 ? { key: t, value: undefined } : { key: t.slice(0, eq), value: t.slice(eq + 1) };
    });
  return (labels) => terms.every((t) => (t.value === undefined ? t.key in labels : labels[t.key] === t.value));
}

export function visibleColumns(clusters: readonly ClusterColumn[], site: string): ClusterColumn[] {
  if (site === '') return [...clusters];
  return clusters.filter((c) => c.siteKind === site || c.site === site);
}

function cellMatches(cell: Cell | undefined, state: StateFilter): boolean {
  switch (state) {
    case 'all':
    case 'Suspended':
      return true;
    case 'problems':
      return cellTone(cell) !== 'ok';
    case 'Healthy':
    case 'Degraded':
    case 'Missing':
      return cell?.health === state;
    default:
      return (cell?.sync ?? 'Unknown') === state;
  }
}

/** The apps to show: label filter on the app; site and state filters on its cells in the visible columns. */
export function filterApps(apps: readonly AppRow[], columns: readonly ClusterColumn[], filters: Filters): readonly AppRow[] {
  if (filters.label.trim() === '' && filters.site === '' && filters.state === 'all') return apps;
  const labels = labelMatcher(filters.label);
  return apps.filter((app) => {
    if (!labels(app.labels)) return false;
    if (filters.state === 'Suspended' && !app.suspended) return false;
    return columns.some((c) => c.name in app.cells && cellMatches(app.cells[c.name], filters.state));
  });
}

/** The site filter's choices: the kinds present, then each site name. */
export function siteChoices(clusters: readonly ClusterColumn[]): string[] {
  const kinds = SITE_KINDS.filter((k) => clusters.some((c) => c.siteKind === k));
  const sites = [...new Set(clusters.map((c) => c.site))].filter((s) => !(SITE_KINDS as readonly string[]).includes(s)).sort();
  return [...kinds, ...sites];
}

/** Live updates from /ui/api/events. */
export type LiveEvent =
  | { readonly type: 'cell'; readonly app: string; readonly cluster: string; readonly cell: Cell }
  | { readonly type: 'cluster'; readonly cluster: string; readonly health?: string }
  | { readonly type: 'app'; readonly app: string; readonly suspended: boolean };

/**
 * The overview after one event. Only the changed app and cluster objects are new, so rows that did not
 * change keep their identity (and are not re-rendered). `index` maps app names to positions.
 */
export function applyEvent(overview: Overview, index: ReadonlyMap<string, number>, event: LiveEvent): Overview {
  if (event.type === 'cluster') {
    return { ...overview, clusters: overview.clusters.map((c) => (c.name === event.cluster ? { ...c, health: event.health } : c)) };
  }
  const at = index.get(event.app);
  if (at === undefined) return overview;
  const app = overview.apps[at]!;
  const changed: AppRow = event.type === 'cell' ? { ...app, cells: { ...app.cells, [event.cluster]: event.cell } } : { ...app, suspended: event.suspended };
  const apps = overview.apps.slice();
  apps[at] = changed;
  return { ...overview, apps };
}

export function appIndex(apps: readonly AppRow[]): Map<string, number> {
  return new Map(apps.map((a, i) => [a.name, i]));
}

/** Rows [start, end) of a list of fixed-height rows that a viewport shows, with `overscan` rows either side. */
export function visibleRows(scrollTop: number, viewportHeight: number, rowHeight: number, total: number, overscan = 8): { start: number; end: number } {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const count = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  return { start: Math.max(0, first - overscan), end: Math.min(total, first + count + overscan) };
}
