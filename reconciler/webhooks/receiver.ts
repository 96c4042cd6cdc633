import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './body.ts';
import { isProvider, readDelivery, type ProviderName } from './providers.ts';
import { DEFAULT_RATE_LIMIT, type RateLimit, TokenBuckets } from './rate-limit.ts';
import { ReplayCache } from './replay-cache.ts';
import type { WatchedSource } from './secret.ts';
import { verdictFor, type Verdict, type WebhookResult } from './verdict.ts';

/**
 * The webhook route of `infra serve`: `POST /webhooks/<provider>/<source>`. It reads the body
 * (bounded), checks the provider's signature with the source's secret, decides (`verdict.ts`),
 * answers, and for an accepted push calls `onTrigger` with the announced commit. It never
 * logs: it returns an outcome with no header, body or secret in it, for the caller's log and
 * metrics. Provider and source in the outcome are `unknown` for names not configured, so
 * metric labels stay bounded whatever is sent.
 */

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookTrigger {
  readonly source: string;
  readonly revision: string;
  readonly reason: `webhook:${ProviderName}`;
}

export interface WebhookOutcome {
  readonly provider: ProviderName | 'unknown';
  readonly source: string;
  readonly result: WebhookResult;
  readonly status: number;
  readonly reason?: string;
  readonly delivery?: string;
  readonly revision?: string;
}

export interface WebhookReceiverOptions {
  readonly sources: readonly WatchedSource[];
  /** Queues the reconcile; `false` means nothing here uses the source (the answer is then 200 ignored). */
  readonly onTrigger: (trigger: WebhookTrigger) => boolean | void | Promise<boolean | void>;
  readonly maxBodyBytes?: number;
  /** Milliseconds, for the rate limit (default Date.now). */
  readonly clock?: () => number;
  readonly rateLimit?: RateLimit;
  /** How many delivery ids are remembered for replay detection (default 10,000). */
  readonly replayCapacity?: number;
}

export interface WebhookReceiver {
  /** `subpath` is what follows `/webhooks/`: `<provider>/<source>` (a query string is ignored). */
  handle(req: IncomingMessage, res: ServerResponse, subpath: string): Promise<WebhookOutcome>;
}

export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const sources = new Map(options.sources.map((s) => [s.name, s]));
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const buckets = new TokenBuckets(options.rateLimit ?? DEFAULT_RATE_LIMIT, options.clock ?? Date.now);
  const replay = new ReplayCache(options.replayCapacity);

  return {
    async handle(req, res, subpath) {
      const [providerName = '', sourceName = '', ...rest] = subpath.replace(/[?#].*$/, '').replace(/^\/+/, '').split('/');
      const provider = isProvider(providerName) ? providerName : undefined;
      const source = sources.get(sourceName);
      const base = { provider: provider ?? ('unknown' as const), source: source ? source.name : 'unknown' };
      if (!provider || !source || rest.some((p) => p !== '')) {
        const reason = !provider ? `no provider "${printable(providerName)}" (one of github, gitlab, gitea, bitbucket, generic)` : `no source "${printable(sourceName)}" with a webhook secret`;
        return answer(req, res, { ...base, status: 404, result: 'not_found', reason });
      }
      if (req.method !== 'POST') return answer(req, res, { ...base, status: 405, result: 'method_not_allowed', reason: 'webhooks are POSTed' }, { Allow: 'POST' });
      const waitMs = buckets.take(source.name);
      if (waitMs > 0) {
        return answer(req, res, { ...base, status: 429, result: 'rate_limited', reason: 'too many webhook requests for this source' }, { 'Retry-After': String(Math.ceil(waitMs / 1000)) });
      }
      const body = await readBody(req, maxBody);
      if (body.kind === 'too_large') return answer(req, res, { ...base, status: 413, result: 'too_large', reason: `the body is over ${maxBody} bytes` });
      if (body.kind === 'aborted') return answer(req, res, { ...base, status: 400, result: 'malformed', reason: 'the request ended early' });
      const delivery = readDelivery(provider, req.headers, body.bytes, source.secret);
      const verdict: Verdict = verdictFor(source, delivery, (id) => replay.firstTime(`${provider}\u0000${source.name}\u0000${id}`));
      const outcome: WebhookOutcome = {
        ...base,
        status: verdict.status,
        result: verdict.result,
        ...(verdict.reason ? { reason: printable(verdict.reason, 300) } : {}),
        ...('id' in delivery && delivery.id !== undefined ? { delivery: printable(delivery.id) } : {}),
        ...(verdict.revision ? { revision: verdict.revision } : {}),
      };
      if (verdict.revision) {
        let queued: boolean | void;
        try {
          queued = await options.onTrigger({ source: source.name, revision: verdict.revision, reason: `webhook:${provider}` });
        } catch {
          return answer(req, res, { ...outcome, status: 503, result: 'error', reason: 'the work queue did not take the trigger' });
        }
        if (queued === false) return answer(req, res, { ...outcome, status: 200, result: 'ignored', reason: 'no app uses this source' });
      }
      return answer(req, res, outcome);
    },
  };
}

/** Names from the URL and ids from headers reach logs: printable and short, whoever sent them. */
function printable(text: string, max = 100): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

function answer(req: IncomingMessage, res: ServerResponse, outcome: WebhookOutcome, headers: Record<string, string> = {}): WebhookOutcome {
  const complete = req.complete;
  const text = `${JSON.stringify({ result: outcome.result, ...(outcome.reason ? { reason: outcome.reason } : {}), ...(outcome.revision ? { revision: outcome.revision } : {}) })}\n`;
  res.writeHead(outcome.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    // A body not read to its end (413, early refusals) is not drained: the connection closes instead.
    ...(complete ? {} : { Connection: 'close' }),
    ...headers,
  });
  res.end(text, () => {
    if (!complete && !req.complete) req.socket.destroySoon();
  });
  return outcome;
}
