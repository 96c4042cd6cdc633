import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StackSpec } from '../../stacks/load.ts';
import { placeApp } from '../place/placement.ts';
import { diff } from '../reconcile.ts';
import { listRecords, readRecord } from '../status/app-record.ts';
import { diffText } from '../status/diff-text.ts';
import { connect } from '../targets.ts';
import { describeObject, parseKey, type AppStatus } from '../types.ts';
import type { AppDetailAnswer, DashboardBackend } from './routes.ts';
import type { Cell, DashboardState } from './state.ts';

/**
 * The dashboard's reads and actions against the real clusters and the serve loop: the objects of
 * an app per cluster (from its record: the inventory, and the health the last round computed),
 * the diff through the same plan round as `infra diff`, sync now through the work queue, and
 * suspend/resume kept in memory and in a 0600 JSON file (the list survives a restart).
 */

export interface ServeHooks {
  /** Queues the app; false when not reconciled here. */
  queueApp(app: string, reason: string): boolean;
}

export interface BackendOptions {
  readonly state: DashboardState;
  readonly stack: () => StackSpec;
  readonly cacheRoot: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly serve: ServeHooks;
  /** Where the suspended apps are kept; absent: memory only. */
  readonly suspendFile?: string;
  /** Per cluster read of the app page (ms). */
  readonly readTimeoutMs?: number;
  readonly diffTimeoutMs?: number;
  /** The app page's `placement` and `moves` (serve's failover controller); absent: no failover here. */
  readonly placement?: (app: string) => { readonly placement: unknown; readonly moves: readonly unknown[] } | undefined;
  /** The cluster page's probes and capacity, from serve's health monitor and capacity reads (absent: not known here). */
  readonly clusterFacts?: (cluster: string) => { readonly probes?: unknown; readonly capacity?: unknown };
}

export interface ObjectRow {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly health: string;
  readonly message?: string;
}

export class ServeDashboardBackend implements DashboardBackend {
  private readonly opts: BackendOptions;
  private saving: Promise<void> = Promise.resolve();
  /** Diffs being computed, by app: a second asker shares the running plan round. */
  private readonly diffs = new Map<string, Promise<AppDetailAnswer>>();

  constructor(opts: BackendOptions) {
    this.opts = opts;
  }

  /** Loads the suspended apps kept by an earlier serve. */
  async loadSuspended(): Promise<void> {
    if (!this.opts.suspendFile) return;
    let list: unknown;
    try {
      list = JSON.parse(await readFile(this.opts.suspendFile, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (isObject(list) && Array.isArray(list['suspended'])) for (const a of list['suspended']) if (typeof a === 'string') this.opts.state.setSuspended(a, true);
  }

  syncNow(app: string): boolean {
    if (this.opts.state.isSuspended(app)) return false;
    return this.opts.serve.queueApp(app, 'ui');
  }

  async setSuspended(app: string, suspended: boolean): Promise<void> {
    if (!this.opts.state.setSuspended(app, suspended)) return;
    // Resumed: reconciled at once, so what changed meanwhile lands.
    if (!suspended) this.opts.serve.queueApp(app, 'resumed');
    const file = this.opts.suspendFile;
    if (!file) return;
    const text = `${JSON.stringify({ suspended: this.opts.state.suspendedApps() }, null, 2)}\n`;
    this.saving = this.saving.then(async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, file);
    });
    await this.saving;
  }

  async appDetail(app: string, signal: AbortSignal): Promise<AppDetailAnswer> {
    const { state } = this.opts;
    const stack = this.opts.stack();
    const spec = state.appSpec(app);
    const cells = state.cellsOf(app);
    const names = new Set([...cells.keys(), ...(spec ? placeApp(spec, stack.clusters).map((c) => c.name) : [])]);
    const clusters = await Promise.all(
      stack.clusters
        .filter((c) => names.has(c.name))
        .map(async (c) => {
          const cell: Cell = cells.get(c.name) ?? { sync: 'Unknown', health: 'Unknown' };
          const target = connect(c, this.opts.env, 4, stack.name);
          try {
            const record = await readRecord(target.client, app, AbortSignal.any([signal, AbortSignal.timeout(this.opts.readTimeoutMs ?? 5000)]));
            return { cluster: c.name, cell, objects: objectRows(record.inventory.entries.map((e) => e.key), record.status) };
          } catch (err) {
            return { cluster: c.name, cell, objects: [], error: (err as Error).message };
          } finally {
            target.client.close();
          }
        }),
    );
    return {
      name: app,
      source: spec?.source ?? '',
      path: spec?.path ?? '',
      suspended: state.isSuspended(app),
      clusters,
      history: state.historyOf(app),
      ...(this.opts.placement?.(app) ?? {}),
    };
  }

  appDiff(app: string, signal: AbortSignal): Promise<AppDetailAnswer> {
    let running = this.diffs.get(app);
    if (!running) {
      // Not tied to the first asker's connection: others may wait for it; bounded by a timeout instead.
      running = this.planDiff(app, AbortSignal.timeout(this.opts.diffTimeoutMs ?? 120_000)).finally(() => this.diffs.delete(app));
      this.diffs.set(app, running);
    }
    return signal.aborted ? Promise.reject(signal.reason) : running;
  }

  private async planDiff(app: string, signal: AbortSignal): Promise<AppDetailAnswer> {
    const plans = await diff({ stack: this.opts.stack(), apps: [app], cacheRoot: this.opts.cacheRoot, ...(this.opts.env ? { env: this.opts.env } : {}), retryForMs: 0, signal });
    const clusters = plans.map((p) => ({ cluster: p.cluster, diff: diffText([p]), ...('apply' in p ? {} : { error: p.error?.message ?? 'cannot plan' }) }));
    return { clusters };
  }

  async clusterDetail(cluster: string): Promise<AppDetailAnswer | undefined> {
    const { state } = this.opts;
    const stack = this.opts.stack();
    const listed = state.clusterList().find((c) => c.name === cluster);
    if (!listed) return undefined;
    const overview = state.overview();
    const apps = overview.apps.filter((a) => a.cells[cluster] !== undefined || placeApp(state.appSpec(a.name) ?? NO_TARGETS_APP, stack.clusters).some((c) => c.name === cluster)).map((a) => a.name);
    return { ...listed, apps, ...(this.opts.clusterFacts?.(cluster) ?? {}) };
  }
}

const NO_TARGETS_APP = { targets: { clusters: [] } } as unknown as Parameters<typeof placeApp>[0];

/** The objects of an app on a cluster: its inventory keys, each with the health the last round saw. Pure. */
export function objectRows(keys: readonly string[], status: AppStatus | undefined): ObjectRow[] {
  const unhealthy = new Map<string, string>();
  for (const u of status?.unhealthy ?? []) {
    const i = u.indexOf(': ');
    unhealthy.set(i < 0 ? u : u.slice(0, i), i < 0 ? '' : u.slice(i + 2));
  }
  const appHealth = status?.health ?? 'Unknown';
  return keys.map((key) => {
    const k = parseKey(key);
    const message = unhealthy.get(describeObject(k));
    const health = message !== undefined ? (appHealth === 'Healthy' ? 'Progressing' : appHealth) : appHealth === 'Unknown' ? 'Unknown' : appHealth === 'Degraded' && unhealthy.size === 0 ? 'Unknown' : 'Healthy';
    return { kind: k.kind, ...(k.namespace ? { namespace: k.namespace } : {}), name: k.name, health, ...(message ? { message } : {}) };
  });
}

/** The last known statuses of every cluster's records, for a fresh serve; an unreachable cluster is skipped (said through `warn`). */
export async function seedFromRecords(state: DashboardState, stack: StackSpec, env: NodeJS.ProcessEnv | undefined, warn: (cluster: string, why: string) => void, signal?: AbortSignal): Promise<void> {
  const apps = new Set(stack.gitops.apps.map((a) => a.name));
  await Promise.all(
    stack.clusters.map(async (c) => {
      const target = connect(c, env, 4, stack.name);
      try {
        const records = await listRecords(target.client, signal ? AbortSignal.any([signal, AbortSignal.timeout(15_000)]) : AbortSignal.timeout(15_000));
        // Records of other stacks on a shared cluster are not this dashboard's.
        state.seed(records.filter((r) => r.status && (!r.stack || r.stack === stack.name || apps.has(r.status.app))).map((r) => r.status as AppStatus));
      } catch (err) {
        warn(c.name, (err as Error).message);
      } finally {
        target.client.close();
      }
    }),
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
