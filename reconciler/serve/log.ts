/**
 * The log of `infra serve`: a human line by default, or one JSON object per line
 * (`--log-format json`) with time, level, msg and the fields app, cluster, source, revision,
 * durationMs. Secrets are never passed in, and every message is scrubbed of what looks like
 * one anyway (credentials in URLs, bearer tokens, signatures) before it is written.
 */

export type LogFormat = 'human' | 'json';
export type LogLevel = 'info' | 'warn' | 'error';

export interface LogFields {
  readonly app?: string;
  readonly cluster?: string;
  readonly source?: string;
  readonly revision?: string;
  readonly durationMs?: number;
  readonly [key: string]: string | number | boolean | undefined;
}

export class ServeLog {
  private readonly format: LogFormat;
  private readonly write: (line: string) => void;
  private readonly now: () => number;

  constructor(format: LogFormat, write: (line: string) => void, now: () => number = Date.now) {
    this.format = format;
    this.write = write;
    this.now = now;
  }

  info(msg: string, fields: LogFields = {}): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields: LogFields = {}): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields: LogFields = {}): void {
    this.log('error', msg, fields);
  }

  private log(level: LogLevel, msg: string, fields: LogFields): void {
    const time = new Date(this.now()).toISOString();
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === 'string' ? scrub(v) : v]));
    if (this.format === 'json') {
      this.write(`${JSON.stringify({ time, level, msg: scrub(msg), ...clean })}\n`);
      return;
    }
    const context = Object.entries(clean)
      .map(([k, v]) => `${k}=${k === 'revision' && typeof v === 'string' ? v.slice(0, 12) : v}`)
      .join(' ');
    this.write(`${time} ${level.toUpperCase().padEnd(5)} ${scrub(msg)}${context ? `  ${context}` : ''}\n`);
  }
}

/** Removes what looks like a credential: `user:password@` in URLs, bearer tokens, HMAC signatures. */
export function scrub(text: string): string {
  return text
    .replace(/(\/\/)[^/@\s:]+(:[^/@\s]*)?@/g, '$1***@')
    .replace(/(bearer\s+)[^\s"']+/gi, '$1***')
    .replace(/(sha(1|256)=)[0-9a-f]{16,}/gi, '$1***');
}
