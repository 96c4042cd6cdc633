import { homedir, userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import ssh2, { type AnyAuthMethod, type Client, type ConnectConfig } from 'ssh2';
import { DEFAULT_BACKOFF, backoffDelay, type Backoff } from '../../reconciler/backoff.ts';
import { AbortError, isAbort } from '../../stacks/errors.ts';
import { HostAuthenticationError, HostUnreachableError } from './errors.ts';
import { hostKeyAlgorithms } from './host-key-algorithms.ts';
import { decideHostKey, type HostKeyPin } from './host-key-policy.ts';
import type { HostLineSink } from './host-lines.ts';
import { keyFromBlob, knownKeyTypes, parseKnownHosts, type KnownHostEntry } from './known-hosts.ts';
import { HostSession } from './session.ts';
import { readSshConfig } from './ssh-config-file.ts';
import { resolveTarget, type HostTarget, type ResolvedTarget, type SshHop } from './ssh-config.ts';
import { readOptional } from '../../clusters/fs.ts';

export interface HostKeyOptions {
  /** Keys recorded in the stack's state, by known_hosts name; a pinned host accepts only its pin. */
  readonly pins?: readonly HostKeyPin[];
  /** Accept and record (through `onPin`) the key of a host nobody knows yet. Off by default. */
  readonly pinOnFirstUse?: boolean;
  /** Called once per newly pinned key (the target's or a jump host's): store it in the state. */
  readonly onPin?: (pin: HostKeyPin) => void;
  /** known_hosts files to use instead of the ssh config's (UserKnownHostsFile or ~/.ssh/known_hosts). */
  readonly knownHostsFiles?: readonly string[];
}

export interface ConnectOptions {
  /** ~/.ssh/config by default; `null` reads none. */
  readonly sshConfigPath?: string | null;
  readonly hostKeys?: HostKeyOptions;
  /** ssh-agent socket; defaults to SSH_AUTH_SOCK; `false` never uses an agent. */
  readonly agent?: string | false;
  /** Connect attempts (default: ssh config ConnectionAttempts, else 3) and their backoff; only connection failures are retried. */
  readonly retry?: { readonly attempts?: number; readonly backoff?: Backoff };
  readonly signal?: AbortSignal;
  /** Where output lines of commands go (each prefixed by host in the progress view). */
  readonly onLine?: HostLineSink;
  /** Name used in messages and line prefixes (default: the target's host). */
  readonly name?: string;
  /** Connect + handshake timeout per hop, ms (default: ssh config ConnectTimeout, else 15 s). */
  readonly readyTimeoutMs?: number;
  /** The step named when the host cannot be reached (default `connect`), e.g. `connect for "install etcd"`. */
  readonly step?: string;
  /** Called for every mutating command and changing upload (the session counts them too). */
  readonly onMutation?: (event: { host: string; step: string; command: string }) => void;
}

/** A host that does not answer costs at most ~3 × 15 s plus backoff before it is reported. */
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_ATTEMPTS = 3;

// ssh2 is CommonJS: Node's ESM loader cannot see its named exports (vitest can, plain node not).
const { Client: SshClient, utils } = ssh2;



async function knownHostsOf(files: readonly string[]): Promise<KnownHostEntry[]> {
  const texts = await Promise.all(files.map(async (f) => [f, await readOptional(f)] as const));
  return texts.flatMap(([f, text]) => (text === undefined ? [] : parseKnownHosts(text, f)));
}

async function authMethods(hop: SshHop, agent: string | undefined): Promise<{ methods: AnyAuthMethod[]; tried: string[] }> {
  const methods: AnyAuthMethod[] = [];
  const tried: string[] = [];
  if (agent) {
    methods.push({ type: 'agent', username: hop.user, agent });
    tried.push('ssh-agent');
  }
  for (const file of hop.identityFiles) {
    const text = await readOptional(file);
    if (text === undefined) continue;
    const parsed = utils.parseKey(text);
    // An encrypted key cannot be used without asking for its passphrase: that is the agent's job.
    if (parsed instanceof Error) {
      tried.push(`${file} (skipped: ${/encrypt|passphrase/i.test(parsed.message) ? 'encrypted, load it into ssh-agent' : parsed.message})`);
      continue;
    }
    methods.push({ type: 'publickey', username: hop.user, key: text });
    tried.push(file);
  }
  return { methods, tried };
}

interface HopContext {
  readonly display: string;
  readonly signal: AbortSignal | undefined;
  readonly step: string;
  readonly hostKeys: HostKeyOptions;
  readonly agent: string | undefined;
  readonly readyTimeoutMs: number | undefined;
  readonly trusted: HostKeyPin[];
}

/** Opens one SSH connection (directly, or over `sock` from the previous hop) with its host key checked. */
async function dialHop(hop: SshHop, sock: Duplex | undefined, ctx: HopContext, isTarget: boolean): Promise<Client> {
  const label = isTarget ? ctx.display : `jump host ${hop.alias}`;
  const knownFiles = ctx.hostKeys.knownHostsFiles ?? hop.knownHostsFiles;
  const entries = await knownHostsOf(knownFiles);
  const pinned = ctx.hostKeys.pins?.find((p) => p.name === hop.hostKeyName);
  const { methods, tried } = await authMethods(hop, ctx.agent);
  let refusal: Error | undefined;
  const knownTypes = pinned ? [pinned.type] : knownKeyTypes(entries, hop.hostKeyName);
  const config: ConnectConfig = {
    host: hop.hostName,
    port: hop.port,
    username: hop.user,
    readyTimeout: ctx.readyTimeoutMs ?? hop.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    // A host that dies mid-command is noticed within ~30 s instead of a TCP timeout.
    keepaliveInterval: 10_000,
    keepaliveCountMax: 3,
    authHandler: methods,
    algorithms: { serverHostKey: hostKeyAlgorithms(knownTypes) },
    hostVerifier: (blob: Buffer) => {
      const decision = decideHostKey(
        { host: label, name: hop.hostKeyName, key: keyFromBlob(blob), entries, knownHostsFiles: knownFiles },
        { pinned, pinOnFirstUse: ctx.hostKeys.pinOnFirstUse ?? false },
      );
      if (decision instanceof Error) {
        refusal = decision;
        return false;
      }
      ctx.trusted.push(decision.pin);
      if (decision.newlyPinned) ctx.hostKeys.onPin?.(decision.pin);
      return true;
    },
    ...(sock ? { sock } : {}),
  };
  const client = new SshClient();
  return new Promise<Client>((resolve, reject) => {
    const onAbort = () => {
      client.end();
      reject(new AbortError('interrupted', { where: `host ${ctx.display}`, hint: 'run the same command again to finish' }));
    };
    if (ctx.signal?.aborted) return onAbort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      ctx.signal?.removeEventListener('abort', onAbort);
      resolve(client);
    });
    client.once('error', (err: Error & { level?: string }) => {
      ctx.signal?.removeEventListener('abort', onAbort);
      client.end();
      if (refusal) reject(refusal);
      else if (err.level === 'client-authentication') reject(new HostAuthenticationError(label, hop.user, tried, { cause: err }));
      else reject(new HostUnreachableError(ctx.display, ctx.step, `${isTarget ? '' : `jump host ${hop.alias}, `}${hop.user}@${hop.hostName}:${hop.port}: ${err.message}`, { cause: err }));
    });
    client.connect(config);
  });
}

function forward(via: Client, hop: SshHop, ctx: HopContext, viaName: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut('127.0.0.1', 0, hop.hostName, hop.port, (err, stream) => {
      if (err) reject(new HostUnreachableError(ctx.display, ctx.step, `jump host ${viaName} cannot open ${hop.hostName}:${hop.port}: ${err.message}`, { cause: err }));
      else resolve(stream);
    });
  });
}

/** One attempt: the chain of jump hosts, then the target; every client of the chain is returned. */
async function dialChain(resolved: ResolvedTarget, ctx: HopContext): Promise<Client[]> {
  const clients: Client[] = [];
  try {
    const hops = [...resolved.jumps, resolved];
    let sock: Duplex | undefined;
    for (const [i, hop] of hops.entries()) {
      const isTarget = i === hops.length - 1;
      const client = await dialHop(hop, sock, ctx, isTarget);
      clients.push(client);
      const next = hops[i + 1];
      if (next) sock = await forward(client, next, ctx, hop.alias);
    }
    return clients;
  } catch (err) {
    for (const c of clients.reverse()) c.end();
    throw err;
  }
}

function retriable(err: unknown): boolean {
  return err instanceof HostUnreachableError;
}

function abortedAt(display: string, cause: unknown): AbortError {
  return cause instanceof AbortError ? cause : new AbortError('interrupted', { where: `host ${display}`, hint: 'run the same command again to finish', cause });
}

async function loadSshConfig(path: string | null | undefined): Promise<string> {
  if (path === null) return '';
  return readSshConfig(path ?? `${homedir()}/.ssh/config`, homedir());
}

/**
 * Connects to a host as ~/.ssh/config describes it (jump hosts included), checks every host key
 * (pins, then known_hosts), and retries with backoff only while the host cannot be reached.
 */
export async function connectHost(target: HostTarget, options: ConnectOptions = {}): Promise<HostSession> {
  const resolved = resolveTarget(target, { configText: await loadSshConfig(options.sshConfigPath), home: homedir(), localUser: userInfo().username });
  const agentSock = options.agent === false ? undefined : (options.agent ?? process.env['SSH_AUTH_SOCK']);
  const display = options.name ?? target.host;
  const attempts = Math.max(1, options.retry?.attempts ?? resolved.connectionAttempts ?? DEFAULT_ATTEMPTS);
  const backoff = options.retry?.backoff ?? DEFAULT_BACKOFF;
  const learned: HostKeyPin[] = [];
  const given = options.hostKeys ?? {};
  // A key pinned in a failed attempt is the pin of the next one (never pinned twice, never swapped).
  const hostKeys: HostKeyOptions = {
    ...given,
    get pins() {
      return [...(given.pins ?? []), ...learned];
    },
    onPin: (pin) => {
      learned.push(pin);
      given.onPin?.(pin);
    },
  };
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) throw new AbortError('interrupted', { where: `host ${display}` });
    const trusted: HostKeyPin[] = [];
    try {
      const clients = await dialChain(resolved, {
        display,
        signal: options.signal,
        step: options.step ?? 'connect',
        hostKeys,
        agent: agentSock,
        readyTimeoutMs: options.readyTimeoutMs,
        trusted,
      });
      return new HostSession({ name: display, user: resolved.user, clients, hostKeys: trusted, onLine: options.onLine, onMutation: options.onMutation });
    } catch (err) {
      if (options.signal?.aborted || isAbort(err)) throw abortedAt(display, err);
      if (!retriable(err) || attempt + 1 >= attempts) throw err;
      try {
        await backoff.sleep(backoffDelay(backoff, attempt), options.signal);
      } catch (slept) {
        throw abortedAt(display, slept);
      }
    }
  }
}

