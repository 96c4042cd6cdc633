import { createHash, createHmac } from 'node:crypto';

/**
 * known_hosts as OpenSSH writes it: `[marker] patterns keytype base64 [comment]`, patterns
 * plain (`host`, `[host]:2222`, wildcards `*` `?`, negation `!`) or hashed (`|1|salt|hmac`).
 * Pure: text in, decisions out.
 */

export interface HostPublicKey {
  /** The key's own type, from the blob: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ... */
  readonly type: string;
  /** The key blob, base64 as in known_hosts. */
  readonly base64: string;
}

export interface KnownHostEntry {
  readonly marker: 'revoked' | 'cert-authority' | undefined;
  readonly patterns: readonly string[];
  readonly hashed: { readonly salt: Buffer; readonly hash: Buffer } | undefined;
  readonly key: HostPublicKey;
  /** `file:line` for messages. */
  readonly source: string;
}

/** The name ssh looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:<base64 without padding>`, exactly as `ssh` and `ssh-keygen -l` print it. */
export function fingerprintOf(key: HostPublicKey | Buffer): string {
  const blob = Buffer.isBuffer(key) ? key : Buffer.from(key.base64, 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside an SSH public key blob (first length-prefixed string). */
export function keyFromBlob(blob: Buffer): HostPublicKey {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = len > 0 && 4 + len <= blob.length ? blob.subarray(4, 4 + len).toString('latin1') : 'unknown';
  return { type, base64: blob.toString('base64') };
}

export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return;
    }
    const [hostsField, type, base64] = fields;
    if (!hostsField || !type || !base64) return;
    let hashed: KnownHostEntry['hashed'];
    let patterns: string[] = [];
    const h = /^\|1\|([^|]+)\|([^|]+)$/.exec(hostsField);
    if (h) hashed = { salt: Buffer.from(h[1] ?? '', 'base64'), hash: Buffer.from(h[2] ?? '', 'base64') };
    else patterns = hostsField.split(',');
    entries.push({ marker, patterns, hashed, key: { type, base64 }, source: `${file}:${i + 1}` });
  });
  return entries;
}

/** OpenSSH pattern: `*` any run, `?` one character, case-insensitive. */
function globMatches(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/** Whether a comma-separated host pattern list matches: any positive match and no negated one. */
export function hostPatternsMatch(patterns: readonly string[], name: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globMatches(p.slice(1), name)) return false;
    } else if (globMatches(p, name)) matched = true;
  }
  return matched;
}

export function entryMatchesHost(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const mac = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return mac.length === entry.hashed.hash.length && mac.equals(entry.hashed.hash);
  }
  return hostPatternsMatch(entry.patterns, name);
}

export type HostKeyVerdict =
  | { readonly kind: 'trusted'; readonly source: string }
  | { readonly kind: 'mismatch'; readonly expected: string; readonly source: string }
  | { readonly kind: 'unknown' };

/**
 * What known_hosts says about `key` for `name` (see knownHostsName): trusted by a matching
 * entry; a mismatch when the host has entries but none with this key (or the key is revoked);
 * unknown when no entry names the host. Certificate authorities are not used (ssh2 does not
 * check host certificates), so `@cert-authority` lines neither trust nor refuse.
 */
export function checkKnownHosts(entries: readonly KnownHostEntry[], name: string, key: HostPublicKey): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.base64 === key.base64);
  if (revoked) return { kind: 'mismatch', expected: `any key but the revoked one`, source: revoked.source };
  const forHost = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, name));
  const same = forHost.find((e) => e.key.type === key.type && e.key.base64 === key.base64);
  if (same) return { kind: 'trusted', source: same.source };
  if (forHost.length === 0) return { kind: 'unknown' };
  // Prefer the entry of the same key type: it is the key the host "changed" from.
  const previous = forHost.find((e) => e.key.type === key.type) ?? forHost[0];
  return { kind: 'mismatch', expected: previous ? fingerprintOf(previous.key) : 'none', source: previous?.source ?? 'known_hosts' };
}

/** Key types known for a host, to ask the server for those first (as OpenSSH does). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], name: string): string[] {
  const types = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, name)).map((e) => e.key.type);
  return [...new Set(types)];
}
