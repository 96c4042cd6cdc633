import type { PathSegment, SourceDocument } from './issues.ts';
import { DURATION_EXAMPLES, parseDuration } from './duration.ts';

/**
 * Typed reads from a parsed document that report, instead of throwing, when a value has the
 * wrong shape, so one pass finds every problem. Each returns undefined on a problem.
 */
export class FieldReader {
  readonly source: SourceDocument;
  constructor(source: SourceDocument) {
    this.source = source;
  }

  at(path: readonly PathSegment[]): unknown {
    let v: unknown = this.source.value;
    for (const seg of path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string | number, unknown>)[seg];
    }
    return v;
  }

  object(path: readonly PathSegment[], required = false): Record<string, unknown> | undefined {
    const v = this.at(path);
    if (v === undefined || v === null) {
      if (required) this.source.report(path, 'is required');
      return undefined;
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.source.report(path, `expected a mapping, got ${describe(v)}`);
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  list(path: readonly PathSegment[], required = false): unknown[] | undefined {
    const v = this.at(path);
    if (v === undefined || v === null) {
      if (required) this.source.report(path, 'is required');
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.source.report(path, `expected a list, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  string(path: readonly PathSegment[], options: { required?: boolean; pattern?: RegExp; patternText?: string } = {}): string | undefined {
    const v = this.at(path);
    if (v === undefined || v === null) {
      if (options.required) this.source.report(path, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.source.report(path, `expected a string, got ${describe(v)}`);
      return undefined;
    }
    if (options.pattern && !options.pattern.test(v)) {
      this.source.report(path, `expected ${options.patternText ?? options.pattern.source}, got "${v}"`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(path: readonly PathSegment[], allowed: readonly T[], fallback?: T): T | undefined {
    const v = this.at(path);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      const list = allowed.length === 2 ? `${allowed[0]} or ${allowed[1]}` : `one of ${allowed.join(', ')}`;
      this.source.report(path, `expected ${list}, got ${describe(v)}`);
      return undefined;
    }
    return v as T;
  }

  boolean(path: readonly PathSegment[], fallback: boolean): boolean {
    const v = this.at(path);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      this.source.report(path, `expected true or false, got ${describe(v)}`);
      return fallback;
    }
    return v;
  }

  integer(path: readonly PathSegment[], options: { min?: number; max?: number; fallback?: number } = {}): number | undefined {
    const v = this.at(path);
    if (v === undefined || v === null) return options.fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (options.min ?? -Infinity) || v > (options.max ?? Infinity)) {
      this.source.report(path, `expected a whole number${options.min !== undefined ? ` >= ${options.min}` : ''}, got ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  /** A duration (`90s`, `2m`, `1h`, bare seconds; see duration.ts), in milliseconds. */
  duration(path: readonly PathSegment[], fallbackMs: number): number {
    const v = this.at(path);
    if (v === undefined || v === null) return fallbackMs;
    const ms = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : undefined;
    if (ms === undefined) {
      this.source.report(path, `expected ${DURATION_EXAMPLES}, got ${describe(v)}`);
      return fallbackMs;
    }
    return ms;
  }

  stringMap(path: readonly PathSegment[]): Record<string, string> {
    const obj = this.object(path);
    if (!obj) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
      else this.source.report([...path, k], `expected a string, got ${describe(v)}`);
    }
    return out;
  }

  /** Reports keys that the schema does not know (typos must not be silently ignored). */
  knownKeys(path: readonly PathSegment[], known: readonly string[]): void {
    const obj = this.at(path);
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return;
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) this.source.report([...path, key], `unknown field (known: ${known.join(', ')})`);
    }
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v}"`;
  return String(v);
}
