import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Client, ClientChannel } from 'ssh2';
import { AbortError } from '../../stacks/errors.ts';
import { HostCommandError, HostUnreachableError, SudoRequiredError, UploadChecksumError } from './errors.ts';
import type { HostKeyPin } from './host-key-policy.ts';
import { LastLines, LineSplitter, type HostLineSink } from './host-lines.ts';
import { commandLine, describeCommand, type HostCommand } from './shell-quote.ts';
import { parseRemoteFileState, planUpload } from './upload-plan.ts';
import { HostParallelism } from './parallelism.ts';
import { fileSha256Script, readFileScript, setAttributesScript, UPLOAD_CHECKSUM_EXIT, uploadScript } from './remote-scripts.ts';

export interface RunOptions {
  /** Run as root through `sudo -n` when the user is not root (a no-op for root). */
  readonly sudo?: boolean;
  readonly stdin?: string | Buffer;
  readonly signal?: AbortSignal;
  /** Where this command's lines go (default: the session's sink). */
  readonly onLine?: HostLineSink;
  /** Do not stream lines (probes whose output is data). */
  readonly quiet?: boolean;
  /** The command changes the host: counted in `mutations`. */
  readonly mutating?: boolean;
  /** Name of the step, for messages (default: the command). */
  readonly step?: string;
  /** Exit codes that are not failures (default [0]). */
  readonly okExitCodes?: readonly number[];
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface UploadOptions {
  /** Octal, e.g. `0600` (default `0644`). Keys: always pass `0600`. */
  readonly mode?: string;
  /** `user` or `user:group` (needs root: pass `sudo`). */
  readonly owner?: string;
  /** Expected SHA-256 (hex) of the content, when the caller knows it (saves hashing). */
  readonly sha256?: string;
  readonly sudo?: boolean;
  readonly step?: string;
  readonly signal?: AbortSignal;
}

export interface UploadResult {
  /** `skip`: already there with that checksum, mode and owner; `attributes`: only chmod/chown ran. */
  readonly action: 'skip' | 'attributes' | 'write';
  readonly sha256: string;
}

/** What the distribution needs from a host; HostSession is the SSH one. */
export interface RemoteHost {
  readonly name: string;
  readonly user: string;
  readonly mutations: number;
  run(command: HostCommand, options?: RunOptions): Promise<RunResult>;
  upload(source: string | Buffer, remotePath: string, options?: UploadOptions): Promise<UploadResult>;
  readFile(remotePath: string, options?: { sudo?: boolean; signal?: AbortSignal }): Promise<Buffer>;
  fileSha256(remotePath: string, options?: { sudo?: boolean; signal?: AbortSignal }): Promise<string | undefined>;
  close(): Promise<void>;
}

interface Exit {
  readonly code: number | null;
  readonly signal: string | undefined;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly stderrTail: string[];
}

async function sha256Of(source: string | Buffer): Promise<string> {
  const hash = createHash('sha256');
  if (Buffer.isBuffer(source)) return hash.update(source).digest('hex');
  for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** An open SSH connection to one host (over its jump hosts). Every command: argv quoted, output per line, failures typed. */
export class HostSession implements RemoteHost {
  readonly name: string;
  readonly user: string;
  /** Keys trusted for this connection (jump hosts first, the target last), to record in the state. */
  readonly hostKeys: readonly HostKeyPin[];
  private readonly clients: readonly Client[];
  private readonly onLine: HostLineSink | undefined;
  private readonly onMutation: ((e: { host: string; step: string; command: string }) => void) | undefined;
  private mutationCount = 0;
  private sudoChecked: Promise<void> | undefined;
  private closed = false;
  /** Why the connection (or one of its jump hosts) went away, once it did. */
  private lost: string | undefined;
  private readonly ended = new Set<Client>();
  /** sshd allows 10 sessions per connection (MaxSessions): stay below, queue the rest. */
  private readonly channels = new HostParallelism(8);

  constructor(d: {
    name: string;
    user: string;
    clients: readonly Client[];
    hostKeys: readonly HostKeyPin[];
    onLine?: HostLineSink | undefined;
    onMutation?: ((e: { host: string; step: string; command: string }) => void) | undefined;
  }) {
    this.name = d.name;
    this.user = d.user;
    this.clients = d.clients;
    this.hostKeys = d.hostKeys;
    this.onLine = d.onLine;
    this.onMutation = d.onMutation;
    for (const c of d.clients) {
      // A connection that drops later (keepalive timeout, reset) must not crash the process.
      c.on('error', (err: Error) => {
        this.lost ??= err.message;
      });
      c.once('close', () => {
        this.lost ??= 'the connection was closed';
        this.ended.add(c);
      });
    }
  }

  /** Mutating commands run and uploads that changed something, since connect. */
  get mutations(): number {
    return this.mutationCount;
  }

  /** The key of the host itself (not of a jump host). */
  get hostKey(): HostKeyPin | undefined {
    return this.hostKeys[this.hostKeys.length - 1];
  }

  private client(step: string): Client {
    const c = this.clients[this.clients.length - 1];
    if (!c || this.closed) throw new HostUnreachableError(this.name, step, 'the session is closed');
    if (this.lost !== undefined) throw new HostUnreachableError(this.name, step, `the connection was lost (${this.lost})`);
    return c;
  }

  private countMutation(step: string, command: string): void {
    this.mutationCount++;
    this.onMutation?.({ host: this.name, step, command });
  }

  private exec(line: string, step: string, o: { stdin?: string | Buffer | { file: string }; signal?: AbortSignal | undefined; sink?: HostLineSink | undefined }): Promise<Exit> {
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(new AbortError('interrupted', { where: `host ${this.name}` }));
      let client: Client;
      try {
        client = this.client(step);
      } catch (err) {
        return reject(err);
      }
      client.exec(line, (err: Error | undefined, channel: ClientChannel) => {
        if (err) return reject(new HostUnreachableError(this.name, step, `cannot start a command: ${err.message}`, { cause: err }));
        const out: Buffer[] = [];
        const errText: string[] = [];
        const tail = new LastLines(8);
        const emit = (stream: 'stdout' | 'stderr') => (text: string) => {
          if (stream === 'stderr') tail.add(text);
          o.sink?.({ host: this.name, stream, text });
        };
        const outLines = new LineSplitter(emit('stdout'));
        const errLines = new LineSplitter(emit('stderr'));
        let code: number | null = null;
        let sig: string | undefined;
        const onAbort = () => {
          channel.close();
          reject(new AbortError('interrupted', { where: `host ${this.name}`, hint: `step "${step}" was stopped; run again to finish` }));
        };
        if (o.signal?.aborted) return onAbort();
        o.signal?.addEventListener('abort', onAbort, { once: true });
        channel.on('data', (b: Buffer) => {
          out.push(b);
          if (o.sink) outLines.push(b);
        });
        channel.stderr.on('data', (b: Buffer) => {
          errText.push(b.toString());
          errLines.push(b);
        });
        channel.on('exit', (c: number | null, s?: string) => {
          code = c;
          sig = s ?? undefined;
        });
        channel.on('close', () => {
          o.signal?.removeEventListener('abort', onAbort);
          outLines.flush();
          errLines.flush();
          // Neither an exit status nor a signal: the session (or the host) went away under the command.
          if (code === null && sig === undefined) {
            return reject(new HostUnreachableError(this.name, step, `the connection was lost while running \`${line}\`${this.lost ? ` (${this.lost})` : ''}`));
          }
          resolve({ code, signal: sig, stdout: Buffer.concat(out), stderr: errText.join(''), stderrTail: tail.get() });
        });
        const input = o.stdin;
        if (input === undefined) channel.end();
        else if (typeof input === 'string' || Buffer.isBuffer(input)) channel.end(input);
        else {
          const file = createReadStream(input.file);
          file.on('error', (e) => {
            channel.close();
            reject(e);
          });
          file.pipe(channel);
        }
      });
    });
  }

  private ensureSudo(step: string, command: string, signal: AbortSignal | undefined): Promise<void> {
    this.sudoChecked ??= this.channels.run(() => this.exec('sudo -n true', step, { signal }), signal).then((r) => {
      if (r.code !== 0) {
        this.sudoChecked = undefined;
        throw new SudoRequiredError({ host: this.name, user: this.user, step, command, stderrTail: r.stderrTail });
      }
    });
    return this.sudoChecked;
  }

  private async runRaw(command: HostCommand, o: RunOptions & { stdinFile?: string }): Promise<{ exit: Exit; line: string; shown: string; step: string }> {
    const shown = describeCommand(command);
    const step = o.step ?? shown;
    const sudo = (o.sudo ?? false) && this.user !== 'root';
    if (sudo) await this.ensureSudo(step, shown, o.signal);
    if (o.mutating) this.countMutation(step, shown);
    const line = commandLine(command, sudo);
    const stdin = o.stdinFile !== undefined ? { file: o.stdinFile } : o.stdin;
    const exit = await this.channels.run(() => this.exec(line, step, { stdin, signal: o.signal, sink: o.quiet ? undefined : (o.onLine ?? this.onLine) }), o.signal);
    return { exit, line, shown, step };
  }

  async run(command: HostCommand, options: RunOptions = {}): Promise<RunResult> {
    const { exit, shown, step } = await this.runRaw(command, options);
    const ok = options.okExitCodes ?? [0];
    if (exit.code === null || !ok.includes(exit.code)) {
      throw new HostCommandError({ host: this.name, step, command: shown, code: exit.code, signal: exit.signal, stderrTail: exit.stderrTail });
    }
    return { code: exit.code, stdout: exit.stdout.toString('utf8'), stderr: exit.stderr };
  }

  async readFile(remotePath: string, options: { sudo?: boolean; signal?: AbortSignal } = {}): Promise<Buffer> {
    const step = `read ${remotePath}`;
    const { exit, shown } = await this.runRaw({ script: readFileScript, args: [remotePath] }, { ...options, step, quiet: true });
    if (exit.code !== 0) throw new HostCommandError({ host: this.name, step, command: shown, code: exit.code, signal: exit.signal, stderrTail: exit.stderrTail });
    return exit.stdout;
  }

  async fileSha256(remotePath: string, options: { sudo?: boolean; signal?: AbortSignal } = {}): Promise<string | undefined> {
    const r = await this.run({ script: fileSha256Script, args: [remotePath] }, { ...options, step: `checksum ${remotePath}`, quiet: true });
    return parseRemoteFileState(r.stdout)?.sha256;
  }

  /**
   * Puts `source` (a local path or the content) at `remotePath`, atomically (temp file in the same
   * directory, checked by SHA-256 on the host, then renamed). Nothing is written when the file
   * already has that content, mode and owner; only chmod/chown run when just those differ.
   */
  async upload(source: string | Buffer, remotePath: string, options: UploadOptions = {}): Promise<UploadResult> {
    const step = options.step ?? `upload ${remotePath}`;
    const sha256 = options.sha256 ?? (await sha256Of(source));
    const mode = options.mode ?? '0644';
    const common = { sudo: options.sudo ?? false, signal: options.signal, step, quiet: true } as const;
    const probe = await this.run({ script: fileSha256Script, args: [remotePath] }, common);
    const action = planUpload({ sha256, mode, owner: options.owner }, parseRemoteFileState(probe.stdout));
    if (action.kind === 'skip') return { action: 'skip', sha256 };
    if (action.kind === 'attributes') {
      await this.run({ script: setAttributesScript, args: [remotePath, mode, options.owner ?? ''] }, { ...common, mutating: true });
      return { action: 'attributes', sha256 };
    }
    const command = { script: uploadScript, args: [remotePath, sha256, mode, options.owner ?? ''] };
    const { exit, shown } = await this.runRaw(command, {
      ...common,
      mutating: true,
      ...(Buffer.isBuffer(source) ? { stdin: source } : { stdinFile: source }),
    });
    if (exit.code === UPLOAD_CHECKSUM_EXIT) {
      const actual = /checksum ([0-9a-f]+)/.exec(exit.stderr)?.[1] ?? 'unknown';
      throw new UploadChecksumError({ host: this.name, step, remotePath, expected: sha256, actual });
    }
    if (exit.code !== 0) throw new HostCommandError({ host: this.name, step, command: shown, code: exit.code, signal: exit.signal, stderrTail: exit.stderrTail });
    return { action: 'write', sha256 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.clients].reverse().map(
        (c) =>
          new Promise<void>((resolve) => {
            if (this.ended.has(c)) return resolve();
            c.once('close', () => resolve());
            c.end();
          }),
      ),
    );
  }
}
