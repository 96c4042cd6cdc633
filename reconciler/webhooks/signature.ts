import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookSecret } from './secret.ts';

/**
 * Constant-time checks of what a sender proves it knows. Every comparison runs over two
 * buffers of the same length (`timingSafeEqual` throws otherwise), so a wrong guess takes as
 * long as a right one and leaks nothing about the secret.
 */

/** `given` is the bare hex HMAC-SHA256 of `body` (Gitea/Forgejo, and after its prefix GitHub, Bitbucket, infra). */
export function hmacHexMatches(secret: WebhookSecret, body: Buffer, given: string | undefined): boolean {
  if (given === undefined || !/^[0-9a-fA-F]{64}$/.test(given)) return false;
  const expected = createHmac('sha256', secret.bytes()).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

/** `header` is `sha256=<hex>` (GitHub `X-Hub-Signature-256`, Bitbucket Server `X-Hub-Signature`, infra `X-Infra-Signature`). */
export function prefixedHmacMatches(secret: WebhookSecret, body: Buffer, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith('sha256=')) return false;
  return hmacHexMatches(secret, body, header.slice('sha256='.length));
}

/** `given` is the secret itself (GitLab `X-Gitlab-Token`): both sides are hashed first so their lengths match. */
export function tokenMatches(secret: WebhookSecret, given: string | undefined): boolean {
  if (given === undefined || given === '') return false;
  const a = createHash('sha256').update(secret.bytes()).digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}
