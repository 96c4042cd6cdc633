import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { authenticate, CsrfTokens, loadAuthFile, ownOrigin, parseAuthFile, sha256, UiAuthFileError, writeRefusal } from '../../reconciler/dashboard/auth.ts';

const hex = (s: string) => sha256(s).toString('hex');
const FILE = `users:
  - { name: alice, role: write, tokenSha256: ${hex('alice-token')} }
  - { name: bob, role: read, passwordSha256: ${hex('bob-pass')} }
trustedProxy: { userHeader: X-Forwarded-User, roleHeader: X-Forwarded-Role, from: [10.0.0.5] }
`;
const config = parseAuthFile(FILE, 'auth.yaml');
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('dashboard auth file', () => {
  it('names every problem with its place and never accepts a plain secret', () => {
    const bad = `users:\n  - { name: carol, role: admin, token: abc }\n  - { name: carol, role: read, tokenSha256: xyz }\nextra: 1\n`;
    let err: unknown;
    try {
      parseAuthFile(bad, 'auth.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UiAuthFileError);
    const msg = (err as Error).message;
    expect(msg).toContain('users[0].role: read or write');
    expect(msg).toContain('users[0].token: unknown field');
    expect(msg).toContain('users[1].name: carol appears twice');
    expect(msg).toContain('users[1].tokenSha256: 64 hex digits');
    expect(msg).toContain('extra: unknown field');
    expect(msg).not.toContain('abc');
  });

  it('refuses a file that group or others can read, and reads a 0600 one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infra-ui-auth-'));
    afterAll(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'auth.yaml');
    await writeFile(file, FILE, { mode: 0o644 });
    await chmod(file, 0o644);
    await expect(loadAuthFile(file)).rejects.toThrow(/readable by group or others \(mode 644\)/);
    await chmod(file, 0o600);
    expect((await loadAuthFile(file)).users.map((u) => u.name)).toEqual(['alice', 'bob']);
  });
});

describe('dashboard authentication', () => {
  it('accepts a bearer token or a basic password by digest, nothing else', () => {
    expect(authenticate(config, { authorization: 'Bearer alice-token' }, '127.0.0.1')).toEqual({ user: 'alice', role: 'write', via: 'token' });
    expect(authenticate(config, { authorization: 'Bearer alice-tokeN' }, '127.0.0.1')).toBeUndefined();
    expect(authenticate(config, { authorization: basic('bob', 'bob-pass') }, '127.0.0.1')).toEqual({ user: 'bob', role: 'read', via: 'password' });
    expect(authenticate(config, { authorization: basic('bob', 'wrong') }, '127.0.0.1')).toBeUndefined();
    expect(authenticate(config, { authorization: basic('nobody', 'bob-pass') }, '127.0.0.1')).toBeUndefined();
    // alice has no password: her token is not a password.
    expect(authenticate(config, { authorization: basic('alice', 'alice-token') }, '127.0.0.1')).toBeUndefined();
    expect(authenticate(config, {}, '127.0.0.1')).toBeUndefined();
  });

  it('trusts the proxy headers only from the proxy address', () => {
    const headers = { 'x-forwarded-user': 'dora@example.com', 'x-forwarded-role': 'write' };
    expect(authenticate(config, headers, '::ffff:10.0.0.5')).toEqual({ user: 'dora@example.com', role: 'write', via: 'proxy' });
    expect(authenticate(config, { 'x-forwarded-user': 'eve' }, '10.0.0.5')).toEqual({ user: 'eve', role: 'read', via: 'proxy' });
    expect(authenticate(config, headers, '127.0.0.1')).toBeUndefined();
    expect(authenticate(config, { 'x-forwarded-user': 'eve', 'x-forwarded-role': 'writers' }, '10.0.0.5')?.role).toBe('read');
  });

  it('takes the write role from a group list (oauth2-proxy X-Forwarded-Groups) and the origin from the proxy', () => {
    const groups = parseAuthFile('users: []\ntrustedProxy: { userHeader: X-Forwarded-User, roleHeader: X-Forwarded-Groups, writeValue: infra-admins, from: [127.0.0.1] }\n', 'auth.yaml');
    expect(authenticate(groups, { 'x-forwarded-user': 'dora', 'x-forwarded-groups': 'staff, infra-admins' }, '127.0.0.1')?.role).toBe('write');
    expect(authenticate(groups, { 'x-forwarded-user': 'dora', 'x-forwarded-groups': 'staff' }, '127.0.0.1')?.role).toBe('read');
    const proxied = { host: '127.0.0.1:7979', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'infra.example' };
    expect(ownOrigin(groups, proxied, '127.0.0.1', false)).toBe('https://infra.example');
    expect(ownOrigin(groups, proxied, '10.9.9.9', false)).toBe('http://127.0.0.1:7979');
  });

  it('lets a write through only with the write role, its CSRF token and our own origin', () => {
    const csrf = new CsrfTokens(Buffer.alloc(32, 7));
    const alice = { user: 'alice', role: 'write' as const, via: 'token' as const };
    const bob = { user: 'bob', role: 'read' as const, via: 'password' as const };
    const own = 'http://127.0.0.1:7979';
    const token = csrf.tokenFor('alice');
    expect(writeRefusal(alice, { 'x-infra-csrf': token }, own, csrf)).toBeUndefined();
    expect(writeRefusal(alice, { 'x-infra-csrf': token, origin: own }, own, csrf)).toBeUndefined();
    expect(writeRefusal(alice, { 'x-infra-csrf': token, origin: 'http://evil.example' }, own, csrf)).toBe('cross-origin request refused');
    expect(writeRefusal(alice, {}, own, csrf)).toMatch(/X-Infra-CSRF/);
    expect(writeRefusal(alice, { 'x-infra-csrf': csrf.tokenFor('bob') }, own, csrf)).toMatch(/X-Infra-CSRF/);
    expect(writeRefusal(bob, { 'x-infra-csrf': csrf.tokenFor('bob') }, own, csrf)).toBe('this action needs the write role');
    expect(new CsrfTokens().tokenFor('alice')).not.toBe(token);
  });
});
