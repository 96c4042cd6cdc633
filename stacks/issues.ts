import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { InfraError } from './errors.ts';

/**
 * Validation collects every problem of a file at once, each with its path and line
 * (`clusters[1].cni: expected flannel or cilium, got "calico" (stack.yaml:14)`).
 */

export type PathSegment = string | number;

export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
  readonly file: string;
  readonly line?: number;
}

export function formatPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

export function formatIssue(i: ValidationIssue): string {
  const at = i.line === undefined ? i.file : `${i.file}:${i.line}`;
  return `${i.path || '(top)'}: ${i.message} (${at})`;
}

export class ValidationError extends InfraError {
  readonly reason = 'ValidationFailed';
  override readonly exitCode = 2;
  readonly issues: readonly ValidationIssue[];
  constructor(file: string, issues: readonly ValidationIssue[]) {
    super(`${file} has ${issues.length} problem(s):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, {
      hint: 'fix them and run again; nothing was changed',
    });
    this.issues = issues;
  }
  override oneLine(): string {
    return `${this.message}\n${this.hint ?? ''}`;
  }
}

/** A parsed YAML file that can say on which line any path starts. */
export class SourceDocument {
  readonly file: string;
  readonly value: unknown;
  private readonly doc: Document;
  private readonly lines: LineCounter;
  readonly issues: ValidationIssue[] = [];

  private constructor(file: string, doc: Document, lines: LineCounter) {
    this.file = file;
    this.doc = doc;
    this.lines = lines;
    this.value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  }

  static parse(file: string, text: string): SourceDocument {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const source = new SourceDocument(file, doc, lines);
    for (const e of doc.errors) {
      source.issues.push({ path: '', message: e.message.split('\n')[0] ?? e.message, file, line: lines.linePos(e.pos[0]).line });
    }
    return source;
  }

  lineOf(path: readonly PathSegment[]): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return undefined;
  }

  report(path: readonly PathSegment[], message: string): void {
    const line = this.lineOf(path);
    this.issues.push({ path: formatPath(path), message, file: this.file, ...(line === undefined ? {} : { line }) });
  }
}
