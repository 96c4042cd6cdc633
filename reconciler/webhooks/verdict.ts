import type { GitRef } from '../../stacks/gitops.ts';
import type { Delivery, RefChange } from './providers.ts';
import { sameRepository } from './repository-url.ts';

/**
 * What a read delivery means for one watched source, as a pure function: the HTTP status, a
 * result for metrics and logs, a reason a person can act on, and the commit to reconcile when
 * it is a push to the repository and ref the source follows.
 *
 * Statuses: 401 wrong or missing signature/token, 400 malformed body, 200 ping, 202 accepted
 * (a reconcile is queued), 200 ignored (authentic, but nothing to do: another repository,
 * another branch, a deleted branch, a pinned commit, a non-push event), 200 replay (a delivery
 * id already received).
 */

export type WebhookResult = 'accepted' | 'ping' | 'ignored' | 'replay' | 'unauthorized' | 'malformed' | 'too_large' | 'rate_limited' | 'not_found' | 'method_not_allowed' | 'error';

export interface Verdict {
  readonly status: number;
  readonly result: WebhookResult;
  readonly reason?: string;
  readonly revision?: string;
}

export interface Followed {
  readonly url: string;
  readonly ref: GitRef;
}

/** `firstTime(id)` records a delivery id and says whether it is new (see `ReplayCache`). */
export function verdictFor(source: Followed, delivery: Delivery, firstTime: (id: string) => boolean): Verdict {
  if (delivery.kind === 'unauthorized') return { status: 401, result: 'unauthorized', reason: delivery.reason };
  if (delivery.kind === 'malformed') return { status: 400, result: 'malformed', reason: delivery.reason };
  // Only authentic deliveries reach the cache: a forger cannot fill it to hide real ones.
  if (delivery.id !== undefined && !firstTime(delivery.id)) return { status: 200, result: 'replay', reason: `delivery ${delivery.id} was already received` };
  if (delivery.kind === 'ping') return { status: 200, result: 'ping' };
  if (delivery.kind === 'other') return ignored(`event "${delivery.event}" is not a push`);
  if (!sameRepository(source.url, delivery.repositoryUrls)) return ignored('a push to another repository');
  const want = followedRef(source.ref);
  if (want === undefined) return ignored('the source follows a pinned commit');
  const change = delivery.changes.find((c: RefChange) => c.ref === want);
  if (!change) return ignored(`${delivery.changes.map((c) => c.ref).join(', ')} is not ${want}`);
  if (change.deleted) return ignored(`${want} was deleted`);
  return { status: 202, result: 'accepted', revision: change.after };
}

function followedRef(ref: GitRef): string | undefined {
  if ('branch' in ref) return `refs/heads/${ref.branch}`;
  if ('tag' in ref) return `refs/tags/${ref.tag}`;
  return undefined;
}

function ignored(reason: string): Verdict {
  return { status: 200, result: 'ignored', reason };
}
