// @peculiar/x509 resolves its algorithm providers through decorators that need this polyfill.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { localClusterCertificates, type CertificateRequest } from './pki-plan.ts';
import { pathExists as exists } from '../fs.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;
const COMPLETE = '.complete';

/**
 * Makes the cluster's CA, the leaf certificates and the service-account key pair in `dir`,
 * unless a complete set is already there. Written to a sibling directory first and renamed,
 * so a crash never leaves half a PKI. Private keys are 0600, the directory 0700.
 */
export async function ensurePki(dir: string): Promise<void> {
  if (await exists(join(dir, COMPLETE))) return;
  const staging = `${dir}.partial`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true, mode: 0o700 });

  const caKeys = await generateKeys();
  const now = new Date();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=infra-local-ca',
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    signingAlgorithm: ALGORITHM,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  await writePair(staging, 'ca', ca, caKeys.privateKey);

  for (const request of localClusterCertificates()) {
    const keys = await generateKeys();
    const cert = await issue(request, keys, ca, caKeys.privateKey, now);
    await writePair(staging, request.file, cert, keys.privateKey);
  }

  const sa = await generateKeys();
  await writeFile(join(staging, 'sa.key'), await privatePem(sa.privateKey), { mode: 0o600 });
  const spki = await webcrypto.subtle.exportKey('spki', sa.publicKey);
  await writeFile(join(staging, 'sa.pub'), x509.PemConverter.encode(spki, 'PUBLIC KEY'), { mode: 0o644 });

  await writeFile(join(staging, COMPLETE), '');
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
}

/** Reads a file of the PKI as text (for kubeconfigs, which embed certificates). */
export function readPki(dir: string, file: string): Promise<string> {
  return readFile(join(dir, file), 'utf8');
}

async function issue(
  request: CertificateRequest,
  keys: CryptoKeyPair,
  ca: x509.X509Certificate,
  caKey: CryptoKey,
  now: Date,
): Promise<x509.X509Certificate> {
  const subject = request.organization ? `CN=${request.commonName}, O=${request.organization}` : `CN=${request.commonName}`;
  const eku = request.usages.map((u) => (u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth));
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(eku),
    await x509.AuthorityKeyIdentifierExtension.create(ca, false),
  ];
  const names = [
    ...request.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...request.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  return x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 5 * YEAR_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
}

function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function privatePem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function writePair(dir: string, stem: string, cert: x509.X509Certificate, key: CryptoKey): Promise<void> {
  await writeFile(join(dir, `${stem}.crt`), cert.toString('pem'), { mode: 0o644 });
  await writeFile(join(dir, `${stem}.key`), await privatePem(key), { mode: 0o600 });
}

function serial(): string {
  // Positive 128-bit serial: clear the top bit of the first byte.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

