import type { Cell, HealthState, LiveEvent, Overview } from './model.ts';

/** The /ui/api/* calls (served by reconciler/dashboard/routes.ts). Credentials are the browser's (basic auth or an OIDC proxy's cookie). */

export interface Session {
  readonly user: string;
  readonly role: 'read' | 'write';
  readonly csrf: string;
}

export interface ObjectHealth {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly health: HealthState | string;
  readonly message?: string;
}

export interface ReconcileRun {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly revision: string;
  readonly result: string;
  readonly message?: string;
}

export interface AppDetail {
  readonly name: string;
  readonly source: string;
  readonly path: string;
  readonly suspended: boolean;
  readonly clusters: readonly { readonly cluster: string; readonly cell: Cell; readonly objects: readonly ObjectHealth[]; readonly error?: string }[];
  readonly history: readonly ReconcileRun[];
  readonly placement?: Placement;
  readonly moves?: readonly Move[];
}

/** An app's failover placement (reconciler/dashboard/placement-view.ts). */
export interface Placement {
  readonly clusters: readonly string[];
  readonly home: readonly string[];
  readonly why: string;
  readonly explain?: readonly { readonly cluster: string; readonly chosen: boolean; readonly rule: string }[];
  readonly pending: readonly { readonly from: string; readonly to?: string; readonly reason: string; readonly dueAt?: string; readonly secondsLeft?: number; readonly waitingFor?: string }[];
  readonly blocked?: string;
  readonly purging?: readonly string[];
}

export interface Move {
  readonly at: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly detail: string;
}

export interface AppDiff {
  readonly clusters: readonly { readonly cluster: string; readonly diff: string; readonly error?: string }[];
}

export interface ClusterDetail {
  readonly name: string;
  readonly site: string;
  readonly siteKind?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly health?: unknown;
  readonly probes?: unknown;
  readonly apps: readonly string[];
  readonly capacity?: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const API = `${import.meta.env.BASE_URL}api`;

async function getJson<T>(path: string): Promise<T> {
  // No extra headers: the overview's request must match the page's preload to reuse it.
  const res = await fetch(`${API}${path}`, { credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(res.status, path, `${res.status} ${res.statusText} from ${path}: ${(await res.text()).slice(0, 300)}`);
  return (await res.json()) as T;
}

export const getSession = (): Promise<Session> => getJson('/session');
export const getOverview = async (): Promise<Overview> => {
  const o = await getJson<Overview>('/overview');
  return {
    ...o,
    clusters: o.clusters.map((c) => {
      const { health: raw, ...rest } = c;
      const health = healthText(raw);
      return health !== undefined ? { ...rest, health } : rest;
    }),
  };
};

/** A cluster's health as one word: the server sends `{ state, since, ... }` (or, older, a plain string). */
export function healthText(h: unknown): string | undefined {
  if (typeof h === 'string') return h;
  if (h !== null && typeof h === 'object' && typeof (h as { state?: unknown }).state === 'string') return (h as { state: string }).state;
  return undefined;
}
export const getApp = (app: string): Promise<AppDetail> => getJson(`/apps/${encodeURIComponent(app)}`);
export const getDiff = (app: string): Promise<AppDiff> => getJson(`/apps/${encodeURIComponent(app)}/diff`);
export const getCluster = (cluster: string): Promise<ClusterDetail> => getJson(`/clusters/${encodeURIComponent(cluster)}`);

export type AppAction = 'sync' | 'suspend' | 'resume';

/** A write: needs the write role and the session's CSRF token (the server checks both). */
export async function postAction(app: string, action: AppAction, csrf: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${API}/apps/${encodeURIComponent(app)}/${action}`, { method: 'POST', credentials: 'same-origin', headers: { 'X-Infra-CSRF': csrf } });
  return { status: res.status, text: await res.text() };
}

/** Server-sent events; `onChange` gets each change, `onStatus` whether the stream is connected. */
export function subscribe(onChange: (event: LiveEvent) => void, onStatus: (connected: boolean) => void): () => void {
  const source = new EventSource(`${API}/events`, { withCredentials: true });
  source.onopen = () => onStatus(true);
  source.onerror = () => onStatus(false);
  source.addEventListener('cell', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { app: string; cluster: string; cell: Cell };
    onChange({ type: 'cell', app: d.app, cluster: d.cluster, cell: d.cell });
  });
  source.addEventListener('cluster', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { cluster: string; health?: unknown };
    const health = healthText(d.health);
    onChange({ type: 'cluster', cluster: d.cluster, ...(health !== undefined ? { health } : {}) });
  });
  source.addEventListener('app', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { app: string; suspended: boolean };
    onChange({ type: 'app', app: d.app, suspended: d.suspended });
  });
  return () => source.close();
}
