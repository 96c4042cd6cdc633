import SSHConfig from 'ssh-config';
import { UsageError } from '../../stacks/errors.ts';

/**
 * Where and how to connect, as `ssh` would from ~/.ssh/config: Host patterns (first value
 * wins), HostName, User, Port, IdentityFile, UserKnownHostsFile, HostKeyAlias and ProxyJump
 * chains (each jump host resolved through the same config). Pure: config text in, hops out.
 */

/** What the caller asks for: a name (alias or address) and optional overrides, like `ssh -l -p -i`. */
export interface HostTarget {
  readonly host: string;
  readonly user?: string | undefined;
  readonly port?: number | undefined;
  readonly identityFiles?: readonly string[] | undefined;
}

/** One SSH connection to make: the target itself or a jump host. */
export interface SshHop {
  /** The name asked for (an alias of ~/.ssh/config or an address). */
  readonly alias: string;
  readonly hostName: string;
  readonly port: number;
  readonly user: string;
  /** Private key files to offer, in order (paths expanded; missing ones are skipped at connect). */
  readonly identityFiles: readonly string[];
  /** Whether IdentityFile came from the config or the target (else the default key names). */
  readonly identityFilesExplicit: boolean;
  readonly knownHostsFiles: readonly string[];
  /** The known_hosts name to check: HostKeyAlias or HostName, with `[...]:port` off port 22. */
  readonly hostKeyName: string;
}

export interface ResolvedTarget extends SshHop {
  /** Jump hosts in connection order (the first is dialled directly). */
  readonly jumps: readonly SshHop[];
}

export interface SshConfigContext {
  /** Text of ~/.ssh/config ('' when there is none). */
  readonly configText: string;
  readonly home: string;
  readonly localUser: string;
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];
const MAX_JUMPS = 8;

type Computed = Record<string, string | string[]>;

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function all(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(/\s+/)).filter((s) => s !== '');
}

function expand(path: string, tokens: Record<string, string>, home: string): string {
  const withTokens = path.replace(/%(.)/g, (whole, t: string) => (t === '%' ? '%' : (tokens[t] ?? whole)));
  return withTokens.startsWith('~/') ? `${home}${withTokens.slice(1)}` : withTokens;
}

function parsePort(raw: string | undefined, where: string): number | undefined {
  if (raw === undefined) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`invalid port "${raw}"`, { where });
  return port;
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`, as ProxyJump writes a hop. */
export function parseJumpSpec(spec: string): HostTarget {
  const s = spec.replace(/^ssh:\/\//, '');
  const at = s.lastIndexOf('@');
  const user = at >= 0 ? s.slice(0, at) : undefined;
  const rest = at >= 0 ? s.slice(at + 1) : s;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest);
  if (!m?.[1]) throw new UsageError(`invalid ProxyJump hop "${spec}"`, { where: 'ssh config ProxyJump', hint: 'write [user@]host[:port], comma-separated' });
  return { host: m[1], user, port: parsePort(m[2], `ProxyJump ${spec}`) };
}

function resolveHop(target: HostTarget, config: SSHConfig, ctx: SshConfigContext): { hop: SshHop; proxyJump: string | undefined } {
  const c: Computed = config.compute(target.host, { ignoreCase: true, matchExec: false });
  const hostName = expand(first(c['hostname']) ?? target.host, { h: target.host }, ctx.home);
  const port = target.port ?? parsePort(first(c['port']), `ssh config Host ${target.host}`) ?? 22;
  const user = target.user ?? first(c['user']) ?? ctx.localUser;
  const tokens = { h: hostName, p: String(port), r: user, u: ctx.localUser, d: ctx.home, n: target.host };
  const configured = target.identityFiles ?? all(c['identityfile']);
  const identityFiles = (configured.length ? configured : DEFAULT_IDENTITIES.map((n) => `~/.ssh/${n}`)).map((f) => expand(f, tokens, ctx.home));
  const knownFiles = all(c['userknownhostsfile']);
  const knownHostsFiles = (knownFiles.length ? knownFiles : ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']).map((f) => expand(f, tokens, ctx.home));
  const keyHost = first(c['hostkeyalias']) ?? hostName;
  const hop: SshHop = {
    alias: target.host,
    hostName,
    port,
    user,
    identityFiles,
    identityFilesExplicit: configured.length > 0,
    knownHostsFiles,
    hostKeyName: port === 22 ? keyHost : `[${keyHost}]:${port}`,
  };
  return { hop, proxyJump: first(c['proxyjump']) };
}

function jumpChain(spec: string | undefined, config: SSHConfig, ctx: SshConfigContext, depth: number): SshHop[] {
  if (spec === undefined || spec.toLowerCase() === 'none') return [];
  if (depth > MAX_JUMPS) throw new UsageError(`ProxyJump chain longer than ${MAX_JUMPS} hops (a loop?)`, { where: 'ssh config ProxyJump' });
  const hops: SshHop[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const { hop, proxyJump } = resolveHop(parseJumpSpec(part), config, ctx);
    // Like ssh: a jump host's own ProxyJump applies when it is the first hop of the chain.
    if (hops.length === 0) hops.push(...jumpChain(proxyJump, config, ctx, depth + 1));
    hops.push(hop);
  }
  return hops;
}

export function resolveTarget(target: HostTarget, ctx: SshConfigContext): ResolvedTarget {
  const config = SSHConfig.parse(ctx.configText);
  const { hop, proxyJump } = resolveHop(target, config, ctx);
  return { ...hop, jumps: jumpChain(proxyJump, config, ctx, 0) };
}
