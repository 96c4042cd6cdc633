import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature of infra's generic webhook endpoint: `X-Infra-Signature: sha256=<hex>`, the
 * HMAC-SHA256 of the raw body under the source's secret. Pure; the hook signs with it and the
 * receiver checks with it.
 */

export const SIGNATURE_PREFIX = 'sha256=';

export function signBody(secret: string | Buffer, body: string | Buffer): string {
  return `${SIGNATURE_PREFIX}${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a `sha256=<hex>` header; false for a missing or malformed one. */
export function verifySignature(secret: string | Buffer, body: string | Buffer, header: string | undefined): boolean {
  if (!header?.startsWith(SIGNATURE_PREFIX)) return false;
  const given = Buffer.from(header.slice(SIGNATURE_PREFIX.length), 'hex');
  const wanted = Buffer.from(signBody(secret, body).slice(SIGNATURE_PREFIX.length), 'hex');
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
