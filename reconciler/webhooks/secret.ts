import { readFile } from 'node:fs/promises';
import type { GitSourceSpec } from '../../stacks/gitops.ts';
import { WebhookSecretError } from './errors.ts';

/**
 * A webhook secret, read once when `infra serve` starts. The value hides from every way a
 * value reaches a log (String(), JSON, util.inspect), so a stray `log(source)` prints
 * `[webhook secret]`; only the signature checks call `bytes()`.
 */
export class WebhookSecret {
  readonly #value: Buffer;
  constructor(value: string | Buffer) {
    this.#value = Buffer.from(value);
  }
  bytes(): Buffer {
    return this.#value;
  }
  toString(): string {
    return '[webhook secret]';
  }
  toJSON(): string {
    return '[webhook secret]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[webhook secret]';
  }
}

/** A source that webhooks may trigger: where it lives, what it follows, and its secret. */
export interface WatchedSource {
  readonly name: string;
  readonly url: string;
  readonly ref: GitSourceSpec['ref'];
  readonly secret: WebhookSecret;
}

export interface SecretReaders {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: (path: string) => Promise<Buffer>;
}

const DEFAULT_READERS: SecretReaders = { env: process.env, readFile: (p) => readFile(p) };

/**
 * The sources with a `webhook:` entry, each with its secret read now (once). A missing or
 * empty secret fails the start: a receiver that accepted anything would be worse than none.
 * One trailing newline (as `echo secret > file` writes) is not part of the secret.
 */
export async function watchedSources(sources: readonly GitSourceSpec[], readers: SecretReaders = DEFAULT_READERS): Promise<WatchedSource[]> {
  const out: WatchedSource[] = [];
  for (const s of sources) {
    if (!s.webhook) continue;
    const where = `source ${s.name} (webhook)`;
    let raw: Buffer;
    if ('secretFile' in s.webhook) {
      try {
        raw = await readers.readFile(s.webhook.secretFile);
      } catch (err) {
        throw new WebhookSecretError(`cannot read the webhook secret file ${s.webhook.secretFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
          where,
          hint: 'create it (e.g. `openssl rand -hex 32 > FILE; chmod 600 FILE`) or fix gitops.sources[].webhook.secretFile',
          cause: err,
        });
      }
    } else {
      const v = readers.env[s.webhook.secretEnv];
      if (v === undefined) throw new WebhookSecretError(`the environment variable ${s.webhook.secretEnv} is not set`, { where, hint: 'export it before `infra serve`, or use secretFile' });
      raw = Buffer.from(v);
    }
    const value = stripOneNewline(raw);
    if (value.length === 0) throw new WebhookSecretError('the webhook secret is empty', { where, hint: 'put a long random value in it (e.g. `openssl rand -hex 32`)' });
    out.push({ name: s.name, url: s.url, ref: s.ref, secret: new WebhookSecret(value) });
  }
  return out;
}

function stripOneNewline(b: Buffer): Buffer {
  let end = b.length;
  if (end > 0 && b[end - 1] === 0x0a) end--;
  if (end > 0 && b[end - 1] === 0x0d) end--;
  return b.subarray(0, end);
}
