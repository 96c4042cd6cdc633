/** Output of a remote command, one line at a time, prefixed by the host in the progress view. */
export interface HostLine {
  readonly host: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export type HostLineSink = (line: HostLine) => void;

export function formatHostLine(line: HostLine): string {
  return `${line.host} | ${line.text}`;
}

/** Splits chunks into lines (a partial last line waits for the next chunk or `flush`). */
export class LineSplitter {
  private partial = '';
  private readonly emit: (text: string) => void;
  constructor(emit: (text: string) => void) {
    this.emit = emit;
  }

  push(chunk: Buffer | string): void {
    const lines = (this.partial + chunk.toString()).split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) this.emit(l.replace(/\r$/, ''));
  }

  flush(): void {
    if (this.partial !== '') this.emit(this.partial.replace(/\r$/, ''));
    this.partial = '';
  }
}

/** Keeps the last `n` lines (for error messages). */
export class LastLines {
  private readonly lines: string[] = [];
  private readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
  add(line: string): void {
    if (line.trim() === '') return;
    this.lines.push(line);
    if (this.lines.length > this.n) this.lines.shift();
  }
  get(): string[] {
    return [...this.lines];
  }
}
