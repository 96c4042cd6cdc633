import { createReadStream } from 'node:fs';
import type { Client, ClientChannel } from 'ssh2';
import { AbortError } from '../../stacks/errors.ts';
import { HostUnreachableError } from './errors.ts';
import { LastLines, LineSplitter, type HostLineSink } from './host-lines.ts';

/** How one command ended on a host. */
export interface Exit {
  readonly code: number | null;
  readonly signal: string | undefined;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly stderrTail: string[];
}

/** What goes to the command's stdin: nothing, bytes, or a local file streamed. */
export type CommandInput = string | Buffer | { readonly file: string };

/**
 * One command over one SSH channel (ssh2's `exec`): stdin fed, stdout kept as bytes, both
 * streams split into lines for the sink, stopped by the signal. Resolves whatever the exit
 * status; a channel that closes with neither status nor signal means the connection went away.
 */
export function execOnHost(
  client: Client,
  line: string,
  o: { host: string; step: string; stdin?: CommandInput | undefined; signal?: AbortSignal | undefined; sink?: HostLineSink | undefined; lostReason: () => string | undefined },
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new AbortError('interrupted', { where: `host ${o.host}` }));
    client.exec(line, (err: Error | undefined, channel: ClientChannel) => {
      if (err) return reject(new HostUnreachableError(o.host, o.step, `cannot start a command: ${err.message}`, { cause: err }));
      const out: Buffer[] = [];
      const errBytes: Buffer[] = [];
      const tail = new LastLines(8);
      const outLines = new LineSplitter((text) => o.sink?.({ host: o.host, stream: 'stdout', text }));
      const errLines = new LineSplitter((text) => {
        tail.add(text);
        o.sink?.({ host: o.host, stream: 'stderr', text });
      });
      let code: number | null = null;
      let sig: string | undefined;
      const onAbort = () => {
        channel.close();
        reject(new AbortError('interrupted', { where: `host ${o.host}`, hint: `step "${o.step}" was stopped; run again to finish` }));
      };
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener('abort', onAbort, { once: true });
      channel.on('data', (b: Buffer) => {
        out.push(b);
        if (o.sink) outLines.push(b);
      });
      channel.stderr.on('data', (b: Buffer) => {
        errBytes.push(b);
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
        if (code === null && sig === undefined) {
          const why = o.lostReason();
          return reject(new HostUnreachableError(o.host, o.step, `the connection was lost while running \`${line}\`${why ? ` (${why})` : ''}`));
        }
        resolve({ code, signal: sig, stdout: Buffer.concat(out), stderr: Buffer.concat(errBytes).toString('utf8'), stderrTail: tail.get() });
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
