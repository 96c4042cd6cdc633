import type { WebhookSecret } from './secret.ts';
import { hmacHexMatches, prefixedHmacMatches, tokenMatches } from './signature.ts';

/**
 * What each provider sends, read as pure functions of (headers, raw body, secret). The
 * signature is checked over the exact bytes received before the body is parsed; only then is
 * the JSON read. A provider answers with a `Delivery`: refused, a ping, a push (which ref to
 * which commit, with every URL the repository goes by), or another event we ignore.
 */

export const PROVIDERS = ['github', 'gitlab', 'gitea', 'bitbucket', 'generic'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Header names in lower case, as node:http gives them. */
export type Headers = Readonly<Record<string, string | string[] | undefined>>;

export type Delivery =
  | { readonly kind: 'unauthorized'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'ping'; readonly id?: string }
  | { readonly kind: 'other'; readonly id?: string; readonly event: string }
  | { readonly kind: 'push'; readonly id?: string; readonly changes: readonly RefChange[]; readonly repositoryUrls: readonly string[] };

/** One ref a push moved: `refs/heads/main` to commit `after` (or deleted). */
export interface RefChange {
  readonly ref: string;
  readonly after: string;
  readonly deleted: boolean;
}

export function isProvider(name: string): name is ProviderName {
  return (PROVIDERS as readonly string[]).includes(name);
}

export function readDelivery(provider: ProviderName, headers: Headers, body: Buffer, secret: WebhookSecret): Delivery {
  switch (provider) {
    case 'github':
      return github(headers, body, secret);
    case 'gitlab':
      return gitlab(headers, body, secret);
    case 'gitea':
      return gitea(headers, body, secret);
    case 'bitbucket':
      return bitbucketServer(headers, body, secret);
    case 'generic':
      return generic(headers, body, secret);
  }
}

const ZERO_SHA = /^0+$/;

function github(h: Headers, body: Buffer, secret: WebhookSecret): Delivery {
  if (!prefixedHmacMatches(secret, body, one(h, 'x-hub-signature-256'))) return unauthorized('X-Hub-Signature-256');
  const id = one(h, 'x-github-delivery');
  const event = one(h, 'x-github-event') ?? '';
  const json = parse(body);
  if (!isObject(json)) return malformed();
  if (event === 'ping') return { kind: 'ping', ...opt(id) };
  if (event !== 'push') return { kind: 'other', event, ...opt(id) };
  const repo = objectAt(json, 'repository');
  return push(id, json['ref'], json['after'], json['deleted'] === true, [repo['clone_url'], repo['ssh_url'], repo['git_url'], repo['html_url'], repo['url']]);
}

function gitlab(h: Headers, body: Buffer, secret: WebhookSecret): Delivery {
  if (!tokenMatches(secret, one(h, 'x-gitlab-token'))) return unauthorized('X-Gitlab-Token');
  // Idempotency-Key stays the same when GitLab retries a delivery; the event UUID names the event.
  const id = one(h, 'idempotency-key') ?? one(h, 'x-gitlab-event-uuid');
  const event = one(h, 'x-gitlab-event') ?? '';
  const json = parse(body);
  if (!isObject(json)) return malformed();
  if (event !== 'Push Hook' && event !== 'Tag Push Hook') return { kind: 'other', event, ...opt(id) };
  const project = objectAt(json, 'project');
  const repo = objectAt(json, 'repository');
  const after = json['after'] ?? json['checkout_sha'];
  return push(id, json['ref'], after, typeof after === 'string' && ZERO_SHA.test(after), [
    project['git_http_url'], project['git_ssh_url'], project['web_url'], repo['git_http_url'], repo['git_ssh_url'], repo['homepage'], repo['url'],
  ]);
}

function gitea(h: Headers, body: Buffer, secret: WebhookSecret): Delivery {
  // Forgejo sends its own header and, for compatibility, the Gitea one: when its own is there, it is the one checked.
  const signature = one(h, 'x-forgejo-signature') ?? one(h, 'x-gitea-signature');
  if (!hmacHexMatches(secret, body, signature)) return unauthorized('X-Gitea-Signature');
  const id = one(h, 'x-forgejo-delivery') ?? one(h, 'x-gitea-delivery');
  const event = one(h, 'x-forgejo-event') ?? one(h, 'x-gitea-event') ?? '';
  const json = parse(body);
  if (!isObject(json)) return malformed();
  if (event !== 'push') return { kind: 'other', event, ...opt(id) };
  const repo = objectAt(json, 'repository');
  const after = json['after'];
  return push(id, json['ref'], after, typeof after === 'string' && ZERO_SHA.test(after), [repo['clone_url'], repo['ssh_url'], repo['html_url']]);
}

function bitbucketServer(h: Headers, body: Buffer, secret: WebhookSecret): Delivery {
  if (!prefixedHmacMatches(secret, body, one(h, 'x-hub-signature'))) return unauthorized('X-Hub-Signature');
  const id = one(h, 'x-request-id');
  const event = one(h, 'x-event-key') ?? '';
  const json = parse(body);
  if (!isObject(json)) return malformed();
  if (event === 'diagnostics:ping') return { kind: 'ping', ...opt(id) };
  if (event !== 'repo:refs_changed') return { kind: 'other', event, ...opt(id) };
  const links = objectAt(objectAt(json, 'repository'), 'links');
  const clone = Array.isArray(links['clone']) ? links['clone'] : [];
  const urls = clone.map((c) => (isObject(c) ? c['href'] : undefined));
  const changes = json['changes'];
  if (!Array.isArray(changes)) return malformed('no changes[]');
  // One push may move several refs: the receiver looks for the one it follows.
  const moved: RefChange[] = [];
  for (const c of changes.filter(isObject)) {
    const one = refChange(c['refId'] ?? objectAt(c, 'ref')['id'], c['toHash'], c['type'] === 'DELETE');
    if (typeof one === 'string') return malformed(one);
    moved.push(one);
  }
  if (moved.length === 0) return malformed('no changes[]');
  return withUrls(id, moved, urls);
}

function generic(h: Headers, body: Buffer, secret: WebhookSecret): Delivery {
  if (!prefixedHmacMatches(secret, body, one(h, 'x-infra-signature'))) return unauthorized('X-Infra-Signature');
  const id = one(h, 'x-infra-delivery');
  const event = one(h, 'x-infra-event') ?? 'push';
  const json = parse(body);
  if (!isObject(json)) return malformed();
  if (event === 'ping') return { kind: 'ping', ...opt(id) };
  if (event !== 'push') return { kind: 'other', event, ...opt(id) };
  const after = json['after'];
  return push(id, json['ref'], after, typeof after === 'string' && ZERO_SHA.test(after), [json['repository']]);
}

function push(id: string | undefined, ref: unknown, after: unknown, deleted: boolean, urls: readonly unknown[]): Delivery {
  const change = refChange(ref, after, deleted);
  return typeof change === 'string' ? malformed(change) : withUrls(id, [change], urls);
}

function refChange(ref: unknown, after: unknown, deleted: boolean): RefChange | string {
  if (typeof ref !== 'string' || !ref.startsWith('refs/')) return 'no ref like refs/heads/<branch>';
  if (typeof after !== 'string' || !/^[0-9a-f]{7,64}$/.test(after)) return 'no commit hash for the ref';
  return { ref, after, deleted };
}

function withUrls(id: string | undefined, changes: readonly RefChange[], urls: readonly unknown[]): Delivery {
  const repositoryUrls = urls.filter((u): u is string => typeof u === 'string' && u !== '');
  if (repositoryUrls.length === 0) return malformed('no repository URL');
  return { kind: 'push', changes, repositoryUrls, ...opt(id) };
}

function unauthorized(header: string): Delivery {
  return { kind: 'unauthorized', reason: `missing or wrong ${header}` };
}

function malformed(reason = 'the body is not a JSON object'): Delivery {
  return { kind: 'malformed', reason };
}

function parse(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function one(h: Headers, name: string): string | undefined {
  const v = h[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

function opt(id: string | undefined): { id?: string } {
  return id === undefined ? {} : { id };
}

type Json = Record<string, unknown>;
function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function objectAt(x: Json, key: string): Json {
  const v = x[key];
  return isObject(v) ? v : {};
}
