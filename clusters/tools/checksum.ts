import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/**
 * Reading published SHA-256 files, and hashing a stream as it passes. The formats in use:
 * a bare digest (dl.k8s.io `<bin>.sha256`), or `sha256sum` lines `<hex>  <name>` (etcd
 * SHA256SUMS, helm `.sha256sum`, kustomize checksums.txt, pulumi checksums.txt), where a
 * `*` before the name marks binary mode.
 */

const HEX64 = /^[0-9a-f]{64}$/;

/** The digest published for `fileName`, or undefined when the file does not list it. */
export function publishedSha256(text: string, fileName: string): string | undefined {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 1) {
    const only = lines[0]?.toLowerCase() ?? '';
    if (HEX64.test(only)) return only;
  }
  for (const line of lines) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const listed = m[2].trim();
    if (listed === fileName || listed.endsWith(`/${fileName}`)) return m[1].toLowerCase();
  }
  return undefined;
}

/** A pass-through stream that computes the SHA-256 of what flows through it. */
export class Sha256Tap extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** Call once the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}
