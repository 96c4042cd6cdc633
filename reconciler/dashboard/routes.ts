import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServeLog } from '../serve/log.ts';
import { authenticate, CsrfTokens, ownOrigin, writeRefusal, type AuthConfig, type Principal } from './auth.ts';
import type { DashboardEvent, DashboardState } from './state.ts';
import { serveStatic } from './static-files.ts';

/**
 * Everything under `/ui/` of `infra serve`: the API described in docs/DASHBOARD.md,
 * the event stream, and the built page. Every path asks for credentials
 * first (401 otherwise, assets and the stream included); writes need the write role, the CSRF
 * header and our own Origin, and each is logged as `ui action` with who did it.
 */

export interface AppDetailAnswer {
  readonly [key: string]: unknown;
}

/** What the routes need from serve: the data behind the app/cluster pages and the actions. */
export interface DashboardBackend {
  appDetail(app: string, signal: AbortSignal): Promise<AppDetailAnswer>;
  appDiff(app: string, signal: AbortSignal): Promise<AppDetailAnswer>;
  clusterDetail(cluster: string, signal: AbortSignal): Promise<AppDetailAnswer | undefined>;
  /** Queues the app; false when serve does not reconcile it here (unknown, not owned, stopping). */
  syncNow(app: string): boolean;
  setSuspended(app: string, suspended: boolean): Promise<void>;
}

export interface DashboardOptions {
  readonly state: DashboardState;
  readonly auth: AuthConfig;
  readonly backend: DashboardBackend;
  readonly log: ServeLog;
  /** dashboard/dist. */
  readonly dist: string;
  /** Served over TLS (the own origin is https://). */
  readonly secure: boolean;
  readonly pingMs?: number;
  readonly csrf?: CsrfTokens;
  /** Bytes an event stream may hold unsent before it is dropped. */
  readonly maxBufferedBytes?: number;
}

const MAX_BUFFERED = 4 * 1024 * 1024;

export class Dashboard {
  private readonly opts: DashboardOptions;
  private readonly csrf: CsrfTokens;
  private readonly streams = new Set<ServerResponse>();

  constructor(opts: DashboardOptions) {
    this.opts = opts;
    this.csrf = opts.csrf ?? new CsrfTokens();
  }

  /** Open event streams (tests, metrics). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Ends every event stream (serve is stopping: the server can close). */
  close(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  /** Handles `path` (starting with /ui); answers every request itself. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const principal = authenticate(this.opts.auth, req.headers, req.socket.remoteAddress);
    if (!principal) {
      drain(req);
      return json(res, 401, { error: 'authentication required' }, { 'WWW-Authenticate': 'Basic realm="infra"' });
    }
    if (path === '/ui') {
      res.writeHead(308, { Location: '/ui/', 'Cache-Control': 'no-store' });
      return void res.end();
    }
    const rel = path.slice('/ui/'.length);
    if (rel === 'api' || rel.startsWith('api/')) return this.api(req, res, principal, rel.slice('api/'.length));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      drain(req);
      return json(res, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' });
    }
    return serveStatic(res, this.opts.dist, rel, req.method === 'HEAD');
  }

  private async api(req: IncomingMessage, res: ServerResponse, p: Principal, rel: string): Promise<void> {
    const parts = rel.split('/').map((s) => safeDecode(s));
    const method = req.method ?? 'GET';
    const { state, backend } = this.opts;
    if (method === 'POST') {
      drain(req);
      const [kind, app, action] = parts;
      if (kind !== 'apps' || !app || (action !== 'sync' && action !== 'suspend' && action !== 'resume') || parts.length !== 3) return json(res, 404, { error: 'no such action' });
      const refusal = writeRefusal(p, req.headers, this.ownOrigin(req), this.csrf);
      if (refusal) {
        this.opts.log.warn('ui action refused', { user: p.user, action, app, why: refusal });
        return json(res, 403, { error: refusal });
      }
      if (!state.hasApp(app)) return json(res, 404, { error: `no app ${app} in the stack` });
      if (action === 'sync') {
        const queued = backend.syncNow(app);
        this.opts.log.info('ui action', { user: p.user, action, app, result: queued ? 'queued' : 'not queued' });
        return queued ? json(res, 202, { queued: true }) : json(res, 409, { queued: false, error: state.isSuspended(app) ? `${app} is suspended: resume it first` : `${app} is not reconciled by this replica` });
      }
      await backend.setSuspended(app, action === 'suspend');
      this.opts.log.info('ui action', { user: p.user, action, app });
      return json(res, 200, { app, suspended: action === 'suspend' });
    }
    if (method !== 'GET' && method !== 'HEAD') {
      drain(req);
      return json(res, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD, POST' });
    }
    const signal = abortOnClose(req, res);
    switch (parts[0]) {
      case 'session':
        return json(res, 200, { user: p.user, role: p.role, csrf: this.csrf.tokenFor(p.user) });
      case 'overview':
        return json(res, 200, state.overview());
      case 'events':
        return this.events(req, res);
      case 'apps': {
        const app = parts[1];
        if (!app || parts.length > 3 || (parts.length === 3 && parts[2] !== 'diff')) return json(res, 404, { error: 'not found' });
        if (!state.hasApp(app)) return json(res, 404, { error: `no app ${app}` });
        return json(res, 200, parts[2] === 'diff' ? await backend.appDiff(app, signal) : await backend.appDetail(app, signal));
      }
      case 'clusters': {
        const cluster = parts[1];
        const answer = cluster && parts.length === 2 ? await backend.clusterDetail(cluster, signal) : undefined;
        return answer ? json(res, 200, answer) : json(res, 404, { error: `no cluster ${cluster ?? ''}` });
      }
      default:
        return json(res, 404, { error: 'not found' });
    }
  }

  /** Server-sent events: deltas only (cell, cluster, app), and `: ping` every 25 s. */
  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    this.streams.add(res);
    const unsubscribe = this.opts.state.subscribe((e) => {
      // A client that stopped reading: dropped rather than buffered without end (EventSource reconnects, the page reloads the overview).
      if (res.writableLength > (this.opts.maxBufferedBytes ?? MAX_BUFFERED)) res.destroy();
      else res.write(eventText(e));
    });
    const ping = setInterval(() => res.write(': ping\n\n'), this.opts.pingMs ?? 25_000);
    ping.unref();
    const end = () => {
      clearInterval(ping);
      unsubscribe();
      this.streams.delete(res);
    };
    req.socket.setTimeout(0);
    res.on('close', end);
  }

  private ownOrigin(req: IncomingMessage): string {
    return ownOrigin(this.opts.auth, req.headers, req.socket.remoteAddress, this.opts.secure);
  }
}

export function eventText(e: DashboardEvent): string {
  const { type, ...data } = e;
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(text);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Reads and drops a body nobody needs (the connection stays usable). */
function drain(req: IncomingMessage): void {
  req.resume();
}

function abortOnClose(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  void req;
  return ac.signal;
}
