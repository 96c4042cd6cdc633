import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from '../../clusters/wait.ts';
import { INFRA_BIN } from './cli.ts';

/** A real `infra serve` process (JSON logs), with its log lines and its HTTP address, for tests. */
export class ServeProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  /** Raw stderr, for assertions about what must never be logged. */
  raw = '';
  readonly exited: Promise<number | null>;

  private constructor(child: ChildProcess) {
    this.child = child;
    let partial = '';
    child.stderr?.on('data', (b: Buffer) => {
      const text = b.toString();
      this.raw += text;
      partial += text;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.lines.push({ msg: line, level: 'raw' });
        }
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Starts `infra serve --log-format json --listen 127.0.0.1:0 ...args`. */
  static start(args: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeProcess {
    const child = spawn(process.execPath, [INFRA_BIN, 'serve', '--log-format', 'json', '--listen', '127.0.0.1:0', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    return new ServeProcess(child);
  }

  /** The first log line matching, waiting for it up to `timeoutMs`. */
  async waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const found = await waitFor(async () => this.lines.find(match), { timeoutMs, intervalMs: 50 });
    if (!found) throw new Error(`no matching log line within ${timeoutMs}ms; log:\n${this.raw}`);
    return found;
  }

  /** `http://127.0.0.1:<port>` once the server listens. */
  async url(): Promise<string> {
    const line = await this.waitForLog((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('listening on '));
    return (line['msg'] as string).slice('listening on '.length);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
