import { createWriteStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Sha256Tap } from './checksum.ts';

/**
 * HTTP(S) GET for release artifacts, with deadlines that make "no internet" a fast answer:
 * a connection (DNS, TCP, TLS) must be up within `connectMs`, response headers must follow
 * within `responseMs`, and a body that stalls for `idleMs` is abandoned. Redirects (GitHub
 * and dl.k8s.io redirect to their CDNs) are followed. HTTPS_PROXY / HTTP_PROXY / NO_PROXY are
 * honoured (Node's own proxy support).
 */

export interface DownloadTimeouts {
  readonly connectMs: number;
  readonly responseMs: number;
  readonly idleMs: number;
}

export const DEFAULT_TIMEOUTS: DownloadTimeouts = { connectMs: 3_000, responseMs: 10_000, idleMs: 30_000 };

/**
 * Why a download did not happen. `unreachable`: the host did not answer (DNS, refused,
 * timed out); `missing`: it answered but has no such file. Both mean "build instead"; a
 * checksum mismatch is not one of these (see ChecksumMismatchError).
 */
export class DownloadError extends Error {
  readonly kind: 'unreachable' | 'missing';
  readonly host: string;
  constructor(kind: 'unreachable' | 'missing', host: string, message: string) {
    super(message);
    this.name = 'DownloadError';
    this.kind = kind;
    this.host = host;
  }
}

export interface GetOptions {
  readonly signal?: AbortSignal;
  readonly timeouts?: Partial<DownloadTimeouts>;
  /** Where proxy settings are read from (default: none, direct connections). */
  readonly env?: NodeJS.ProcessEnv;
  /** Replaces DNS (tests simulate a resolver that never answers). */
  readonly lookup?: LookupFunction;
}

/** Bytes received so far, for progress lines. */
export interface Transfer {
  received: number;
  total: number | undefined;
}

const MAX_REDIRECTS = 5;
const MAX_TEXT_BYTES = 1 << 20;

/** Fetches a small text file (a checksum list). */
export async function fetchText(url: string, options: GetOptions = {}): Promise<string> {
  const res = await open(url, options);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_TEXT_BYTES) {
      res.destroy();
      throw new DownloadError('missing', new URL(url).host, `${url} is larger than ${MAX_TEXT_BYTES} bytes; not a checksum file`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Streams `url` into `path` (0600), hashing on the way; returns the SHA-256 of what was written. */
export async function downloadFile(url: string, path: string, transfer: Transfer, options: GetOptions = {}): Promise<string> {
  const res = await open(url, options);
  const length = Number(res.headers['content-length']);
  transfer.total = Number.isFinite(length) && length > 0 ? length : undefined;
  const tap = new Sha256Tap();
  tap.on('data', (chunk: Buffer) => {
    transfer.received += chunk.length;
  });
  try {
    await pipeline(res, tap, createWriteStream(path, { mode: 0o600 }), options.signal ? { signal: options.signal } : {});
  } catch (err) {
    // A dropped connection is a network failure (build instead), not a corrupt file.
    if (err instanceof DownloadError || options.signal?.aborted || !isConnectionLoss(err)) throw err;
    throw new DownloadError('unreachable', new URL(url).host, `${new URL(url).host}: connection lost after ${transfer.received} bytes of ${url}`);
  }
  if (transfer.total !== undefined && transfer.received !== transfer.total) {
    throw new DownloadError('unreachable', new URL(url).host, `${new URL(url).host}: connection closed after ${transfer.received} of ${transfer.total} bytes of ${url}`);
  }
  return tap.digest();
}

async function open(url: string, options: GetOptions): Promise<IncomingMessage> {
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await request(current, options);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      current = new URL(res.headers.location, current);
      continue;
    }
    if (status === 200) {
      const idleMs = { ...DEFAULT_TIMEOUTS, ...options.timeouts }.idleMs;
      const host = current.host;
      const href = current.href;
      res.socket.setTimeout(idleMs, () => {
        res.destroy(new DownloadError('unreachable', host, `${host}: no data for ${idleMs / 1000}s while downloading ${href}`));
      });
      return res;
    }
    res.resume();
    throw new DownloadError('missing', current.host, `${current.href} answered HTTP ${status}`);
  }
  throw new DownloadError('missing', current.host, `${url} redirected more than ${MAX_REDIRECTS} times`);
}

function request(url: URL, options: GetOptions): Promise<IncomingMessage> {
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const tls = url.protocol === 'https:';
  if (!tls && url.protocol !== 'http:') {
    return Promise.reject(new DownloadError('missing', url.host, `${url.href}: only http and https mirrors are supported`));
  }
  return new Promise((resolve, reject) => {
    const req = (tls ? https : http).get(url, {
      agent: agentFor(tls, options.env),
      headers: { 'user-agent': 'infra' },
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    const giveUp = (why: string) => req.destroy(new DownloadError('unreachable', url.host, `${url.host}: ${why}`));
    let timer = setTimeout(() => giveUp(`no connection within ${t.connectMs / 1000}s`), t.connectMs);
    const connected = () => {
      clearTimeout(timer);
      timer = setTimeout(() => giveUp(`connected but no answer within ${t.responseMs / 1000}s`), t.responseMs);
    };
    req.on('socket', (socket) => {
      if (!socket.connecting) connected();
      else socket.once(tls ? 'secureConnect' : 'connect', connected);
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err instanceof DownloadError || options.signal?.aborted) reject(err);
      else reject(new DownloadError('unreachable', url.host, `${url.host}: ${err.code ?? err.message}`));
    });
  });
}

const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'] as const;

/** A fresh connection per request (so the connect deadline means what it says), through the proxy the environment names. */
function agentFor(tls: boolean, env: NodeJS.ProcessEnv | undefined): http.Agent | false {
  const proxyEnv = Object.fromEntries(PROXY_VARS.filter((k) => env?.[k]).map((k) => [k, env?.[k]]));
  if (Object.keys(proxyEnv).length === 0) return false;
  return tls ? new https.Agent({ keepAlive: false, proxyEnv }) : new http.Agent({ keepAlive: false, proxyEnv });
}

function isConnectionLoss(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return ['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE'].includes(e.code ?? '') || e.message === 'aborted';
}
