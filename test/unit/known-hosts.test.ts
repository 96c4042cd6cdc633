import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decideHostKey } from '../../modules/hosts/host-key-policy.ts';
import { hostKeyAlgorithms } from '../../modules/hosts/host-key-algorithms.ts';
import { HostKeyMismatchError, HostKeyUnknownError } from '../../modules/hosts/errors.ts';
import { checkKnownHosts, fingerprintOf, keyFromBlob, knownHostsName, knownKeyTypes, parseKnownHosts, type HostPublicKey } from '../../modules/hosts/known-hosts.ts';

/** An Ed25519 public key blob as SSH encodes it: string "ssh-ed25519", string key. */
function ed25519(): HostPublicKey {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return keyFromBlob(Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]));
}

function hashed(name: string): string {
  const salt = Buffer.from('0123456789abcdef0123');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

const a = ed25519();
const b = ed25519();

describe('known_hosts', () => {
  it('matches plain, [host]:port, wildcard, negated and hashed entries', () => {
    const text = [
      '# comment',
      `h1.example,10.0.0.1 ${a.type} ${a.base64} me@laptop`,
      `[10.0.0.2]:2222 ${a.type} ${a.base64}`,
      `*.lab,!bad.lab ${a.type} ${a.base64}`,
      `${hashed('[10.0.0.9]:2200')} ${a.type} ${a.base64}`,
    ].join('\n');
    const entries = parseKnownHosts(text, 'kh');
    const verdict = (host: string, port: number) => checkKnownHosts(entries, knownHostsName(host, port), a).kind;
    expect(verdict('h1.example', 22)).toBe('trusted');
    expect(verdict('10.0.0.1', 22)).toBe('trusted');
    expect(verdict('10.0.0.1', 2222)).toBe('unknown');
    expect(verdict('10.0.0.2', 2222)).toBe('trusted');
    expect(verdict('x.lab', 22)).toBe('trusted');
    expect(verdict('bad.lab', 22)).toBe('unknown');
    expect(verdict('10.0.0.9', 2200)).toBe('trusted');
    expect(verdict('10.0.0.9', 22)).toBe('unknown');
    expect(checkKnownHosts(entries, 'h1.example', a)).toEqual({ kind: 'trusted', source: 'kh:2' });
  });

  it('another key for a known host is a mismatch naming the known one; a revoked key is refused', () => {
    const entries = parseKnownHosts(`h1 ${a.type} ${a.base64}\n@revoked * ${b.type} ${b.base64}\n`, 'kh');
    expect(checkKnownHosts(entries, 'h1', b)).toMatchObject({ kind: 'mismatch', source: 'kh:2' });
    const onlyA = parseKnownHosts(`h1 ${a.type} ${a.base64}\n`, 'kh');
    expect(checkKnownHosts(onlyA, 'h1', b)).toEqual({ kind: 'mismatch', expected: fingerprintOf(a), source: 'kh:1' });
    expect(knownKeyTypes(onlyA, 'h1')).toEqual(['ssh-ed25519']);
  });

  it('fingerprints print as ssh does: SHA256:, base64 without padding', () => {
    expect(fingerprintOf(a)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(keyFromBlob(Buffer.from(a.base64, 'base64')).type).toBe('ssh-ed25519');
  });

  it('asks the server for known key types first', () => {
    expect(hostKeyAlgorithms(['ssh-rsa']).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithms([])[0]).toBe('ssh-ed25519');
  });
});

describe('decideHostKey', () => {
  const base = { host: 'h1', name: 'h1', key: a, knownHostsFiles: ['/kh'] };
  it('a pin wins over known_hosts; a different pin is a mismatch with both fingerprints', () => {
    const pin = { name: 'h1', type: a.type, publicKey: a.base64, fingerprint: fingerprintOf(a) };
    expect(decideHostKey({ ...base, entries: [] }, { pinned: pin })).toMatchObject({ trustedBy: 'pinned', newlyPinned: false });
    const other = { ...pin, publicKey: b.base64, fingerprint: fingerprintOf(b) };
    const refused = decideHostKey({ ...base, entries: [] }, { pinned: other });
    expect(refused).toBeInstanceOf(HostKeyMismatchError);
    expect((refused as Error).message).toContain(fingerprintOf(a));
    expect((refused as Error).message).toContain(fingerprintOf(b));
  });
  it('unknown: refused unless pinning on first use is allowed', () => {
    expect(decideHostKey({ ...base, entries: [] }, {})).toBeInstanceOf(HostKeyUnknownError);
    expect(decideHostKey({ ...base, entries: [] }, { pinOnFirstUse: true })).toMatchObject({ trustedBy: 'first use', newlyPinned: true, pin: { name: 'h1', fingerprint: fingerprintOf(a) } });
    // pinning on first use never overrides a known_hosts entry
    expect(decideHostKey({ ...base, key: b, entries: parseKnownHosts(`h1 ${a.type} ${a.base64}`) }, { pinOnFirstUse: true })).toBeInstanceOf(HostKeyMismatchError);
  });
});
