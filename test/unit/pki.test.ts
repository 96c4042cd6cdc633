import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePki } from '../../clusters/local/pki.ts';
import { localClusterCertificates } from '../../clusters/local/pki-plan.ts';

let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'infra-pki-'));
  dir = join(root, 'pki');
  await ensurePki(dir);
});

afterAll(() => rm(root, { recursive: true, force: true }));

const cert = async (stem: string) => new X509Certificate(await readFile(join(dir, `${stem}.crt`)));

describe('local cluster PKI', () => {
  it('issues every certificate from the cluster CA', async () => {
    const ca = await cert('ca');
    expect(ca.ca).toBe(true);
    for (const request of localClusterCertificates()) {
      const leaf = await cert(request.file);
      expect(leaf.verify(ca.publicKey), request.file).toBe(true);
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.ca).toBe(false);
      expect(leaf.subject).toContain(`CN=${request.commonName}`);
    }
  });

  it('gives the apiserver certificate the names clients dial', async () => {
    const api = await cert('apiserver');
    expect(api.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(api.checkIP('10.0.0.1')).toBe('10.0.0.1');
    expect(api.checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
    expect(api.checkHost('evil.example')).toBeUndefined();
  });

  it('puts admins in system:masters', async () => {
    expect((await cert('admin')).subject).toContain('O=system:masters');
  });

  it('keeps private keys 0600 and the directory 0700', async () => {
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const key of ['ca.key', 'admin.key', 'sa.key', 'etcd.key']) {
      expect((await stat(join(dir, key))).mode & 0o777, key).toBe(0o600);
      expect(createPrivateKey(await readFile(join(dir, key))).asymmetricKeyType).toBe('ec');
    }
  });

  it('leaves an existing PKI untouched', async () => {
    const before = await readFile(join(dir, 'ca.crt'), 'utf8');
    await ensurePki(dir);
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(before);
  });
});
