import type { AppSpec, ClusterSpec } from '../../stacks/gitops.ts';
import type { StackSpec } from '../../stacks/load.ts';
import { placeApp } from '../place/placement.ts';
import type { AppStatus, StatusError } from '../types.ts';

/**
 * What the dashboard shows, kept in memory and fed by the serve loop: a cell per app × cluster
 * (sync, health, revision, last error), the last reconciles of each app, the suspended apps and
 * the clusters' health. Every change is emitted as one small event (the event stream sends only
 * these deltas); an unchanged round emits nothing. Pure: the clock is injected.
 */

export type CellSync = 'Synced' | 'OutOfSync' | 'Progressing' | 'Failed' | 'Unknown';
export type CellHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown';
export type SiteKindLabel = 'cloud' | 'edge' | 'dc';

export interface CellError {
  readonly message: string;
  readonly reason?: string;
  readonly file?: string;
  readonly line?: number;
  readonly object?: string;
}

export interface Cell {
  readonly sync: CellSync;
  readonly health: CellHealth;
  readonly revision?: string;
  readonly lastError?: CellError;
  readonly reconciledAt?: string;
}

export interface HistoryEntry {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly revision: string;
  readonly result: 'Synced' | 'OutOfSync' | 'Failed';
  readonly message?: string;
}

export interface OverviewCluster {
  readonly name: string;
  readonly site: string;
  readonly siteKind: SiteKindLabel;
  readonly labels: Readonly<Record<string, string>>;
  readonly health?: unknown;
}

export interface OverviewApp {
  readonly name: string;
  readonly source: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly suspended: boolean;
  readonly cells: Readonly<Record<string, Cell>>;
}

export interface Overview {
  readonly generatedAt: string;
  readonly clusters: readonly OverviewCluster[];
  readonly apps: readonly OverviewApp[];
}

export type DashboardEvent =
  | { readonly type: 'cell'; readonly app: string; readonly cluster: string; readonly cell: Cell }
  | { readonly type: 'cluster'; readonly cluster: string; readonly health: unknown }
  | { readonly type: 'app'; readonly app: string; readonly suspended: boolean };

export const HISTORY_LENGTH = 20;
const SITE_KIND_ORDER: readonly SiteKindLabel[] = ['cloud', 'edge', 'dc'];
/** The label the placement work gives every cluster (issue 12); absent: derived from the site. */
export const SITE_KIND_LABEL = 'infra.dev/site-kind';

export class DashboardState {
  private readonly now: () => number;
  private stackOf: () => StackSpec | undefined = () => undefined;
  private readonly cells = new Map<string, Map<string, Cell>>();
  private readonly history = new Map<string, HistoryEntry[]>();
  private readonly suspended = new Set<string>();
  private readonly clusterHealth = new Map<string, unknown>();
  private readonly listeners = new Set<(e: DashboardEvent) => void>();

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** The stack served (rows and columns of the overview): asked each time, so a reload shows at once. */
  useStack(stack: () => StackSpec | undefined): void {
    this.stackOf = stack;
  }

  private get stack(): StackSpec | undefined {
    return this.stackOf();
  }

  subscribe(listener: (e: DashboardEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /**
   * The last known statuses read from the clusters' records at start: they fill cells no round
   * has reported yet (a round's news always wins).
   */
  seed(statuses: readonly AppStatus[]): void {
    for (const s of statuses) {
      if (this.cells.get(s.app)?.has(s.cluster)) continue;
      this.put(s.app, s.cluster, cellOf(s, undefined));
    }
  }

  /** A round starts for `apps` (undefined: every app of the stack): their cells turn Progressing. */
  started(apps: readonly string[] | undefined): void {
    const names = apps ?? this.stack?.gitops.apps.map((a) => a.name) ?? [];
    for (const app of names) {
      const clusters = new Set([...(this.cells.get(app)?.keys() ?? []), ...this.targetsOf(app)]);
      for (const cluster of [...clusters].sort()) {
        const prev = this.cells.get(app)?.get(cluster);
        this.put(app, cluster, { ...(prev ?? { health: 'Unknown' }), sync: 'Progressing' });
      }
    }
  }

  /**
   * A round ended: its statuses become cells, and one history entry per app. Cells of `apps`
   * (undefined: the stack's) still Progressing got no status (the round threw or skipped them).
   */
  finished(apps: readonly string[] | undefined, statuses: readonly AppStatus[], startedAt: number, durationMs: number): void {
    const at = new Date(this.now()).toISOString();
    const byApp = new Map<string, AppStatus[]>();
    for (const s of statuses) {
      this.put(s.app, s.cluster, cellOf(s, at));
      byApp.set(s.app, [...(byApp.get(s.app) ?? []), s]);
    }
    for (const [app, list] of byApp) {
      const failed = list.find((s) => s.sync === 'Failed');
      const outOfSync = list.find((s) => s.sync === 'OutOfSync');
      const entry: HistoryEntry = {
        startedAt: new Date(startedAt).toISOString(),
        durationMs,
        revision: (failed ?? list[0])?.revision ?? '',
        result: failed ? 'Failed' : outOfSync ? 'OutOfSync' : 'Synced',
        ...(failed?.error ? { message: `${failed.cluster}: ${failed.error.reason}: ${failed.error.message}${failed.error.where ? ` (${failed.error.where})` : ''}` } : {}),
      };
      const h = this.history.get(app) ?? [];
      h.unshift(entry);
      if (h.length > HISTORY_LENGTH) h.length = HISTORY_LENGTH;
      this.history.set(app, h);
    }
    this.settle(apps ?? this.stack?.gitops.apps.map((a) => a.name) ?? []);
  }

  /** Cells left Progressing by a round that did not report them: their sync is Unknown now. */
  private settle(apps: readonly string[]): void {
    for (const app of apps) {
      for (const [cluster, cell] of this.cells.get(app) ?? []) if (cell.sync === 'Progressing') this.put(app, cluster, { ...cell, sync: 'Unknown' });
    }
  }

  setSuspended(app: string, suspended: boolean): boolean {
    if (this.suspended.has(app) === suspended) return false;
    if (suspended) this.suspended.add(app);
    else this.suspended.delete(app);
    this.emit({ type: 'app', app, suspended });
    return true;
  }

  isSuspended(app: string): boolean {
    return this.suspended.has(app);
  }

  suspendedApps(): string[] {
    return [...this.suspended].sort();
  }

  setClusterHealth(cluster: string, health: unknown): void {
    if (JSON.stringify(this.clusterHealth.get(cluster)) === JSON.stringify(health)) return;
    this.clusterHealth.set(cluster, health);
    this.emit({ type: 'cluster', cluster, health });
  }

  clusterHealthOf(cluster: string): unknown {
    return this.clusterHealth.get(cluster);
  }

  cellsOf(app: string): ReadonlyMap<string, Cell> {
    return this.cells.get(app) ?? new Map();
  }

  historyOf(app: string): readonly HistoryEntry[] {
    return this.history.get(app) ?? [];
  }

  appSpec(app: string): AppSpec | undefined {
    return this.stack?.gitops.apps.find((a) => a.name === app);
  }

  /** Whether the dashboard knows `app` (in the stack, or reported by a round or a record). */
  hasApp(app: string): boolean {
    return this.appSpec(app) !== undefined || this.cells.has(app);
  }

  clusterList(): OverviewCluster[] {
    const stack = this.stack;
    if (!stack) return [];
    return stack.clusters
      .map((c) => {
        const health = this.clusterHealth.get(c.name);
        return { name: c.name, site: c.site ?? '', siteKind: siteKindOf(c, stack), labels: c.labels, ...(health !== undefined ? { health } : {}) };
      })
      .sort((a, b) => SITE_KIND_ORDER.indexOf(a.siteKind) - SITE_KIND_ORDER.indexOf(b.siteKind) || cmp(a.name, b.name));
  }

  /** Apps sorted by name, clusters by site kind then name: the same state gives the same JSON. */
  overview(): Overview {
    const names = new Set([...(this.stack?.gitops.apps.map((a) => a.name) ?? []), ...this.cells.keys()]);
    const apps: OverviewApp[] = [...names].sort(cmp).map((name) => {
      const spec = this.appSpec(name);
      const cells = this.cells.get(name);
      return {
        name,
        source: spec?.source ?? '',
        labels: labelsOf(spec),
        suspended: this.suspended.has(name),
        cells: cells ? Object.fromEntries([...cells].sort(([a], [b]) => cmp(a, b))) : {},
      };
    });
    return { generatedAt: new Date(this.now()).toISOString(), clusters: this.clusterList(), apps };
  }

  private targetsOf(app: string): string[] {
    const spec = this.appSpec(app);
    return spec && this.stack ? placeApp(spec, this.stack.clusters).map((c) => c.name) : [];
  }

  /** Stores a cell; emits it when something but its time changed. */
  private put(app: string, cluster: string, cell: Cell): void {
    let row = this.cells.get(app);
    if (!row) {
      row = new Map();
      this.cells.set(app, row);
    }
    const prev = row.get(cluster);
    row.set(cluster, cell);
    if (prev && sameCell(prev, cell)) return;
    this.emit({ type: 'cell', app, cluster, cell });
  }

  private emit(e: DashboardEvent): void {
    for (const l of this.listeners) l(e);
  }
}

export function cellOf(s: AppStatus, reconciledAt: string | undefined): Cell {
  return {
    sync: s.sync,
    health: s.health,
    ...(s.revision || s.lastAppliedRevision ? { revision: s.revision || s.lastAppliedRevision } : {}),
    ...(s.error ? { lastError: errorOf(s.error) } : {}),
    ...(reconciledAt ? { reconciledAt } : {}),
  };
}

/** A status error for the page: the file and line, and the object, each when the error names it. */
export function errorOf(error: StatusError): CellError {
  const at = whereOf(error.where);
  const object = at.object ?? objectOf(error.message);
  return { message: error.message, reason: error.reason, ...(at.file ? { file: at.file } : {}), ...(at.line !== undefined ? { line: at.line } : {}), ...(object ? { object } : {}) };
}

/** `file:line` or a bare path → file (and line); `cluster c: Kind ns/name` → the object; anything else is the object or place. */
export function whereOf(where: string | undefined): { file?: string; line?: number; object?: string } {
  if (!where) return {};
  const m = /^(\S+?):(\d+)(?::\d+)?$/.exec(where);
  if (m) return { file: m[1] as string, line: Number(m[2]) };
  if (/^\S+$/.test(where)) return { file: where };
  const onCluster = /^cluster \S+: (.+)$/.exec(where);
  return { object: onCluster ? (onCluster[1] as string) : where };
}

/** The object a pipeline message starts with (`Kind namespace/name: ...`, as describeObject writes it). */
function objectOf(message: string): string | undefined {
  const m = /^([A-Z][A-Za-z0-9]*) ((?:[^\s/:]+\/)?[^\s/:]+)(?::|$)/.exec(message) ?? /\(([A-Z][A-Za-z0-9]*) ((?:[^\s/:]+\/)?[^\s/:]+)\)/.exec(message);
  return m ? `${m[1]} ${m[2]}` : undefined;
}

export function sameCell(a: Cell, b: Cell): boolean {
  return a.sync === b.sync && a.health === b.health && a.revision === b.revision && JSON.stringify(a.lastError) === JSON.stringify(b.lastError);
}

/** cloud / edge / dc: the cluster's `infra.dev/site-kind` label, else an edge site is `edge`, a kvm or ssh site `dc`, local `dc`. */
export function siteKindOf(c: ClusterSpec, stack: StackSpec): SiteKindLabel {
  const label = c.labels[SITE_KIND_LABEL];
  if (label === 'cloud' || label === 'edge' || label === 'dc') return label;
  const site = stack.sites.find((s) => s.name === c.site);
  const fromSite = site?.labels['site-kind'];
  if (fromSite === 'cloud' || fromSite === 'edge' || fromSite === 'dc') return fromSite;
  return site?.edge ? 'edge' : 'dc';
}

function labelsOf(spec: AppSpec | undefined): Readonly<Record<string, string>> {
  const labels = (spec as { labels?: Record<string, string> } | undefined)?.labels;
  return labels ?? {};
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
