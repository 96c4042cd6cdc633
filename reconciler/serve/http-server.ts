import { timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { PortInUseError } from '../../clusters/errors.ts';
import { InfraError } from '../../stacks/errors.ts';
import type { ServeLog } from './log.ts';
import type { ServeMetrics } from './metrics.ts';

/**
 * The HTTP side of `infra serve` (node:http, or node:https with a certificate): `/healthz`
 * (the process answers), `/readyz` (the first round is done and every source was fetched),
 * `/metrics` (Prometheus; a bearer token from a file, or loopback only when there is none),
 * the mount point `/webhooks/` whose handler the webhook receiver provides, and `/ui/` (the
 * dashboard, reconciler/dashboard/, when `--ui` is given).
 */

/** Handles everything under `/webhooks/`; `subpath` is what follows it (e.g. `github/platform`). */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse, subpath: string) => Promise<void> | void;

/** Handles `/ui` and everything under `/ui/` (its own authentication); `path` is the whole path. */
export type UiHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> | void;

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready yet, for the probe's body. */
  readonly why: string;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly metrics: ServeMetrics;
  readonly readiness: () => Readiness;
  /** Bearer token for /metrics; without one /metrics answers only when bound to loopback. */
  readonly metricsToken?: string;
  readonly webhooks?: WebhookHandler;
  readonly ui?: UiHandler;
  readonly log: ServeLog;
}

export class ListenError extends InfraError {
  readonly reason = 'ListenFailed';
  override readonly exitCode = 2;
}

export interface RunningServer {
  /** `http(s)://host:port` actually bound (port 0 picks a free one). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/** 404 for every webhook path until the receiver is mounted. */
export const NO_WEBHOOKS: WebhookHandler = (_req, res) => reply(res, 404, 'no webhook receiver is mounted\n');

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  if (!opts.metricsToken && !isLoopback(opts.host)) {
    throw new ListenError(`refusing to serve /metrics on ${opts.host} without a token`, { hint: 'pass --metrics-token-file FILE, or listen on 127.0.0.1' });
  }
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    route(opts, req, res).catch((err: unknown) => {
      opts.log.error(`HTTP ${req.method ?? '?'} ${pathOf(req)} failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) reply(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new (err.code === 'EADDRINUSE' ? PortInUseError : ListenError)(`cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, { hint: err.code === 'EADDRINUSE' ? 'another process uses the port: pick one with --listen HOST:PORT' : 'check --listen', cause: err }));
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function route(opts: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req);
  if (path.startsWith('/webhooks/')) return (opts.webhooks ?? NO_WEBHOOKS)(req, res, path.slice('/webhooks/'.length));
  if (path === '/ui' || path.startsWith('/ui/')) return opts.ui ? opts.ui(req, res, path) : reply(res, 404, 'the dashboard is off: infra serve --ui --ui-auth-file FILE\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
  switch (path) {
    case '/healthz':
      return reply(res, 200, 'ok\n');
    case '/readyz': {
      const r = opts.readiness();
      return reply(res, r.ready ? 200 : 503, r.ready ? 'ready\n' : `not ready: ${r.why}\n`);
    }
    case '/metrics': {
      if (opts.metricsToken && !bearerMatches(req.headers.authorization, opts.metricsToken)) return reply(res, 401, 'unauthorized\n', { 'WWW-Authenticate': 'Bearer' });
      return reply(res, 200, await opts.metrics.registry.metrics(), { 'Content-Type': opts.metrics.registry.contentType });
    }
    default:
      return reply(res, 404, 'not found\n');
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1] as string);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}
