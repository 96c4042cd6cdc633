import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { InfraError } from '../../stacks/errors.ts';
import { signBody } from './sign.ts';

/**
 * What `infra hook notify` sends: one signed POST to infra's generic webhook endpoint per
 * branch a push updated. Planning (the lines git gives a post-receive hook in, requests out)
 * is pure; `deliver` is the one effect.
 */

/** A notification could not be delivered (infra serve down, refused, too slow). */
export class NotifyError extends InfraError {
  readonly reason = 'NotifyFailed';
  override readonly exitCode = 1;
}

export interface PushedRef {
  readonly ref: string;
  readonly after: string;
}

export interface GenericDelivery {
  readonly url: string;
  readonly ref: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const ZERO = /^0+$/;

/** The secret as infra serve reads it from the same file: one trailing newline (`echo s > f`) is not part of it. */
export function secretFromFile(content: Buffer): Buffer {
  let end = content.length;
  if (end > 0 && content[end - 1] === 0x0a) end--;
  if (end > 0 && content[end - 1] === 0x0d) end--;
  return content.subarray(0, end);
}

/** `<old> <new> <ref>` lines → the branches that now point at a commit (deletions and tags skipped). */
export function pushedBranches(stdin: string): PushedRef[] {
  const out: PushedRef[] = [];
  for (const line of stdin.split('\n')) {
    const [, after, ref] = line.trim().split(/\s+/);
    if (!after || !ref || ZERO.test(after) || !/^[0-9a-f]{40,64}$/.test(after) || !ref.startsWith('refs/heads/')) continue;
    out.push({ ref, after });
  }
  return out;
}

/** The endpoint of a source on a server: `<server>/webhooks/generic/<source>`. */
export function genericEndpoint(server: string, source: string): string {
  return `${server.replace(/\/+$/, '')}/webhooks/generic/${encodeURIComponent(source)}`;
}

export function genericDelivery(o: { server: string; source: string; repository: string; secret: string | Buffer; push: PushedRef; delivery?: string }): GenericDelivery {
  const body = JSON.stringify({ repository: o.repository, ref: o.push.ref, after: o.push.after });
  return {
    url: genericEndpoint(o.server, o.source),
    ref: o.push.ref,
    body,
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'infra-hook',
      'X-Infra-Event': 'push',
      'X-Infra-Delivery': o.delivery ?? randomUUID(),
      'X-Infra-Signature': signBody(o.secret, body),
    },
  };
}

/** POSTs one delivery; resolves with the HTTP status, throws NotifyError when there is none or it is not 2xx. */
export function deliver(d: GenericDelivery, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const url = new URL(d.url);
  const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
  if (!send) return Promise.reject(new NotifyError(`unsupported server URL ${url.origin}`, { hint: 'use http:// or https://' }));
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers: { ...d.headers, 'Content-Length': String(Buffer.byteLength(d.body)) }, timeout: timeoutMs, ...(signal ? { signal } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text.length < 500 ? (text += c) : undefined));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(status);
        else reject(new NotifyError(`infra serve answered ${status} for ${d.ref}${text ? `: ${text.trim().slice(0, 200)}` : ''}`, { where: d.url, hint: status === 401 ? 'the secret file differs from the one infra serve reads for this source' : 'see the infra serve log' }));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new NotifyError(`could not reach infra serve: ${err.message}`, { where: d.url, hint: 'the push is stored; infra serve picks it up on its next poll once it runs', cause: err })));
    req.end(d.body);
  });
}
