import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import type { ProviderName } from '../../reconciler/webhooks/providers.ts';

/**
 * Push deliveries as each provider sends them (header names and payload shapes from the
 * providers' documentation, written here by hand), signed with a given secret, and a small
 * HTTP client that sends one to a receiver.
 */

export interface PushOptions {
  readonly secret: string;
  readonly url: string;
  readonly after: string;
  readonly ref?: string;
  readonly id?: string;
}

export interface SignedRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const hmacHex = (key: string, body: string | Buffer) => createHmac('sha256', key).update(body).digest('hex');

export function signedPush(provider: ProviderName, o: PushOptions): SignedRequest {
  const ref = o.ref ?? 'refs/heads/main';
  const id = o.id ?? `${provider}-${o.after}`;
  const ssh = o.url.replace(/^https:\/\/([^/]+)\//, 'git@$1:');
  const json = { 'content-type': 'application/json' };
  switch (provider) {
    case 'github': {
      const body = JSON.stringify({ ref, before: '0'.repeat(40), after: o.after, deleted: false, repository: { clone_url: o.url, ssh_url: ssh } });
      return { body, headers: { ...json, 'x-github-event': 'push', 'x-github-delivery': id, 'x-hub-signature-256': `sha256=${hmacHex(o.secret, body)}` } };
    }
    case 'gitlab': {
      const body = JSON.stringify({ object_kind: 'push', ref, after: o.after, checkout_sha: o.after, project: { git_http_url: o.url, git_ssh_url: ssh } });
      return { body, headers: { ...json, 'x-gitlab-event': 'Push Hook', 'x-gitlab-event-uuid': id, 'x-gitlab-token': o.secret } };
    }
    case 'gitea': {
      const body = JSON.stringify({ ref, after: o.after, repository: { clone_url: o.url, ssh_url: ssh } });
      return { body, headers: { ...json, 'x-gitea-event': 'push', 'x-gitea-delivery': id, 'x-gitea-signature': hmacHex(o.secret, body) } };
    }
    case 'bitbucket': {
      const body = JSON.stringify({
        eventKey: 'repo:refs_changed',
        repository: { links: { clone: [{ href: o.url, name: 'http' }] } },
        changes: [{ ref: { id: ref, type: 'BRANCH' }, refId: ref, fromHash: '0'.repeat(40), toHash: o.after, type: 'UPDATE' }],
      });
      return { body, headers: { ...json, 'x-event-key': 'repo:refs_changed', 'x-request-id': id, 'x-hub-signature': `sha256=${hmacHex(o.secret, body)}` } };
    }
    case 'generic': {
      const body = JSON.stringify({ repository: o.url, ref, after: o.after });
      return { body, headers: { ...json, 'x-infra-event': 'push', 'x-infra-delivery': id, 'x-infra-signature': `sha256=${hmacHex(o.secret, body)}` } };
    }
  }
}

export interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** POSTs with an exact Content-Length; the answer may come before the whole body is written (413). */
export function postWebhook(url: string, req: SignedRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const r = request(url, { method: 'POST', headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) } }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } });
      });
    });
    r.on('error', (err) => {
      if (!answered) reject(err);
    });
    r.end(req.body);
  });
}
