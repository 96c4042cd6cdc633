import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The built single-page app (dashboard/dist, made by `npm run build`): assets by path, index.html
 * for every other /ui/ path (the page routes itself), a 503 page saying how to build it when missing.
 */

export const DEFAULT_DIST = resolve(fileURLToPath(new URL('../../dashboard/dist', import.meta.url)));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** The file under `dist` that `rel` (the path after /ui/) names, or undefined when it leaves `dist`. */
export function fileUnder(dist: string, rel: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const full = normalize(join(dist, decoded));
  return full === dist || full.startsWith(dist + sep) ? full : undefined;
}

export async function serveStatic(res: ServerResponse, dist: string, rel: string, head: boolean): Promise<void> {
  const index = join(dist, 'index.html');
  const file = rel === '' ? index : fileUnder(dist, rel);
  const target = file && (await isFile(file)) ? file : rel.startsWith('assets/') ? undefined : index;
  if (!target) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
  let body: Buffer;
  try {
    body = await readFile(target);
  } catch {
    return send(res, 503, 'text/html; charset=utf-8', MISSING_BUILD, head);
  }
  const hashed = target.includes(`${sep}assets${sep}`);
  send(res, 200, TYPES[extname(target)] ?? 'application/octet-stream', body, head, hashed ? 'private, max-age=31536000, immutable' : 'no-store');
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, cache = 'no-store'): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': cache, 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(head ? undefined : body);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

const MISSING_BUILD = `<!doctype html><meta charset="utf-8"><title>infra dashboard: not built</title>
<h1>The dashboard is not built</h1>
<p>This <code>infra serve</code> has no <code>dashboard/dist</code>. Run <code>npm run build</code> in the infra checkout, then reload. The API under <code>/ui/api/</code> works without it.</p>
`;
