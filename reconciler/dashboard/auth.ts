import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { parse } from 'yaml';
import { InfraError } from '../../stacks/errors.ts';

/**
 * Who may see the dashboard, and who may act: users from an auth file (a bearer token or a
 * basic-auth password, each stored as its SHA-256 digest and compared in constant time), or a
 * trusted OIDC proxy in front that names the user in a header. Writes need role `write`, the
 * CSRF token of `GET /ui/api/session` and, when the browser sends one, our own Origin. Pure
 * apart from reading the file.
 */

export type Role = 'read' | 'write';

export interface AuthUser {
  readonly name: string;
  readonly role: Role;
  readonly tokenSha256?: Buffer;
  readonly passwordSha256?: Buffer;
}

export interface TrustedProxy {
  readonly userHeader: string;
  readonly roleHeader?: string;
  /** The role header (a comma-separated list, e.g. oauth2-proxy's X-Forwarded-Groups) grants `write` when it holds this value. */
  readonly writeValue: string;
  /** Peer addresses the proxy connects from; a header from anyone else is ignored. */
  readonly from: readonly string[];
}

export interface AuthConfig {
  readonly users: readonly AuthUser[];
  readonly trustedProxy?: TrustedProxy;
}

export interface Principal {
  readonly user: string;
  readonly role: Role;
  readonly via: 'token' | 'password' | 'proxy';
}

export class UiAuthFileError extends InfraError {
  readonly reason = 'UiAuthFileInvalid';
  override readonly exitCode = 2;
}

/** Reads the auth file; refused unless only its owner can read it (0600 or 0400). */
export async function loadAuthFile(file: string): Promise<AuthConfig> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(file)).mode;
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UiAuthFileError(`cannot read --ui-auth-file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, { hint: 'give the path of the dashboard auth file (see docs/DASHBOARD.md)' });
  }
  if ((mode & 0o077) !== 0) {
    throw new UiAuthFileError(`--ui-auth-file ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)})`, { hint: `chmod 600 ${file} (or defaultMode 0400 for a mounted Secret)` });
  }
  return parseAuthFile(text, file);
}

/** Parses and checks the auth file's YAML; every problem is named with its place. */
export function parseAuthFile(text: string, file: string): AuthConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new UiAuthFileError(`${file}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isObject(doc)) throw new UiAuthFileError(`${file}: expected a mapping with users:`, { hint: 'see docs/DASHBOARD.md for the format' });
  const problems: string[] = [];
  const users: AuthUser[] = [];
  const list = doc['users'];
  if (list !== undefined && !Array.isArray(list)) problems.push('users: expected a list');
  const seen = new Set<string>();
  for (const [i, u] of (Array.isArray(list) ? list : []).entries()) {
    const at = `users[${i}]`;
    if (!isObject(u)) {
      problems.push(`${at}: expected a mapping`);
      continue;
    }
    const name = u['name'];
    const role = u['role'];
    if (typeof name !== 'string' || name === '' || name.includes(':')) problems.push(`${at}.name: a non-empty name without ':'`);
    else if (seen.has(name)) problems.push(`${at}.name: ${name} appears twice`);
    else seen.add(name);
    if (role !== 'read' && role !== 'write') problems.push(`${at}.role: read or write`);
    const token = digest(u['tokenSha256'], `${at}.tokenSha256`, problems);
    const password = digest(u['passwordSha256'], `${at}.passwordSha256`, problems);
    if (!token && !password && u['tokenSha256'] === undefined && u['passwordSha256'] === undefined) problems.push(`${at}: needs tokenSha256 or passwordSha256`);
    for (const k of Object.keys(u)) if (!['name', 'role', 'tokenSha256', 'passwordSha256'].includes(k)) problems.push(`${at}.${k}: unknown field (a plain token or password never goes in this file, only its SHA-256)`);
    if (typeof name === 'string' && (role === 'read' || role === 'write')) users.push({ name, role, ...(token ? { tokenSha256: token } : {}), ...(password ? { passwordSha256: password } : {}) });
  }
  let trustedProxy: TrustedProxy | undefined;
  const p = doc['trustedProxy'];
  if (p !== undefined) {
    if (!isObject(p) || typeof p['userHeader'] !== 'string' || !Array.isArray(p['from']) || !p['from'].every((x) => typeof x === 'string') || (p['roleHeader'] !== undefined && typeof p['roleHeader'] !== 'string') || (p['writeValue'] !== undefined && typeof p['writeValue'] !== 'string')) {
      problems.push('trustedProxy: expected { userHeader: X-Forwarded-User, roleHeader?: X-Forwarded-Role, writeValue?: write, from: [127.0.0.1] }');
    } else {
      for (const k of Object.keys(p)) if (!['userHeader', 'roleHeader', 'writeValue', 'from'].includes(k)) problems.push(`trustedProxy.${k}: unknown field`);
      trustedProxy = { userHeader: p['userHeader'].toLowerCase(), ...(typeof p['roleHeader'] === 'string' ? { roleHeader: p['roleHeader'].toLowerCase() } : {}), writeValue: typeof p['writeValue'] === 'string' ? p['writeValue'] : 'write', from: p['from'] as string[] };
    }
  }
  for (const k of Object.keys(doc)) if (k !== 'users' && k !== 'trustedProxy') problems.push(`${k}: unknown field`);
  if (problems.length === 0 && users.length === 0 && !trustedProxy) problems.push('no users and no trustedProxy: nobody could sign in');
  if (problems.length > 0) throw new UiAuthFileError(`${file}: ${problems.join('; ')}`, { hint: 'see docs/DASHBOARD.md for the format; digests are `printf %s SECRET | sha256sum`' });
  return { users, ...(trustedProxy ? { trustedProxy } : {}) };
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Who sent this request, or undefined (answer 401). Every stored digest is compared, in constant time. */
export function authenticate(config: AuthConfig, headers: IncomingHttpHeaders, remoteAddress: string | undefined): Principal | undefined {
  const proxy = config.trustedProxy;
  if (proxy && fromTrustedProxy(config, remoteAddress)) {
    const user = headerOf(headers, proxy.userHeader);
    const roles = proxy.roleHeader ? (headerOf(headers, proxy.roleHeader) ?? '').split(',').map((r) => r.trim()) : [];
    if (user) return { user, role: roles.includes(proxy.writeValue) ? 'write' : 'read', via: 'proxy' };
  }
  const auth = headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (bearer) {
    const given = sha256(bearer[1] as string);
    let found: AuthUser | undefined;
    for (const u of config.users) if (u.tokenSha256 && timingSafeEqual(given, u.tokenSha256) && !found) found = u;
    return found ? { user: found.name, role: found.role, via: 'token' } : undefined;
  }
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
  if (basic) {
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const name = decoded.slice(0, colon);
    const given = sha256(decoded.slice(colon + 1));
    // Compared even for an unknown name, so the time does not tell which names exist.
    const u = config.users.find((x) => x.name === name && x.passwordSha256);
    const ok = timingSafeEqual(given, u?.passwordSha256 ?? DUMMY);
    return u && ok ? { user: u.name, role: u.role, via: 'password' } : undefined;
  }
  return undefined;
}

const DUMMY = Buffer.alloc(32);

/** Whether the peer is the trusted proxy (its forwarded headers count). */
export function fromTrustedProxy(config: AuthConfig, remoteAddress: string | undefined): boolean {
  return !!config.trustedProxy && !!remoteAddress && config.trustedProxy.from.includes(normalizeAddress(remoteAddress));
}

/** Our own origin as the browser sees it: behind the trusted proxy, its X-Forwarded-Proto/Host. */
export function ownOrigin(config: AuthConfig, headers: IncomingHttpHeaders, remoteAddress: string | undefined, secure: boolean): string {
  const proxied = fromTrustedProxy(config, remoteAddress);
  const proto = (proxied ? headerOf(headers, 'x-forwarded-proto')?.split(',')[0]?.trim() : undefined) ?? (secure ? 'https' : 'http');
  const host = (proxied ? headerOf(headers, 'x-forwarded-host')?.split(',')[0]?.trim() : undefined) ?? headerOf(headers, 'host') ?? '';
  return `${proto}://${host}`;
}

/** CSRF tokens: an HMAC of the user name under a key made at start (a restart asks the page for a new one). */
export class CsrfTokens {
  private readonly key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.key = key;
  }

  tokenFor(user: string): string {
    return createHmac('sha256', this.key).update(user, 'utf8').digest('base64url');
  }

  verify(user: string, given: string | undefined): boolean {
    if (!given) return false;
    const want = Buffer.from(this.tokenFor(user));
    const got = Buffer.from(given);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/** Why a write is refused (403), or undefined when it may go on. */
export function writeRefusal(p: Principal, headers: IncomingHttpHeaders, ownOrigin: string, csrf: CsrfTokens): string | undefined {
  if (p.role !== 'write') return 'this action needs the write role';
  const origin = headerOf(headers, 'origin');
  if (origin !== undefined && origin !== ownOrigin) return 'cross-origin request refused';
  if (!csrf.verify(p.user, headerOf(headers, 'x-infra-csrf'))) return 'missing or wrong X-Infra-CSRF header (GET /ui/api/session gives it)';
  return undefined;
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
}

function digest(v: unknown, at: string, problems: string[]): Buffer | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v)) {
    problems.push(`${at}: 64 hex digits (the SHA-256 of the secret)`);
    return undefined;
  }
  return Buffer.from(v, 'hex');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
