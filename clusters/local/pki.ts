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

  const ca = await createCertificateAuthority('infra-local-ca');
  await writePemPair(staging, 'ca', ca);
  for (const request of localClusterCertificates()) await writePemPair(staging, request.file, await issueCertificate(ca, request));

  const sa = await createServiceAccountKey();
  await writeFile(join(staging, 'sa.key'), sa.key, { mode: 0o600 });
  await writeFile(join(staging, 'sa.pub'), sa.pub, { mode: 0o644 });

  await writeFile(join(staging, COMPLETE), '');
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
}

/** A certificate and its private key, both PEM. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed CA valid for ten years. */
export async function createCertificateAuthority(commonName: string, now = new Date()): Promise<PemPair> {
  const keys = await generateKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: ca.toString('pem'), key: await privatePem(keys.privateKey) };
}

/** A leaf certificate for `request`, signed by `ca` (given as PEM, so a CA kept in state works). */
export async function issueCertificate(ca: PemPair, request: CertificateRequest, now = new Date()): Promise<PemPair> {
  const keys = await generateKeys();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const cert = await issue(request, keys, caCert, caKey, now);
  return { cert: cert.toString('pem'), key: await privatePem(keys.privateKey) };
}

/** The key pair the apiserver verifies and the controller-manager signs service-account tokens with. */
export async function createServiceAccountKey(): Promise<{ key: string; pub: string }> {
  const sa = await generateKeys();
  const spki = await webcrypto.subtle.exportKey('spki', sa.publicKey);
  return { key: await privatePem(sa.privateKey), pub: x509.PemConverter.encode(spki, 'PUBLIC KEY') };
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

async function writePemPair(dir: string, stem: string, pair: PemPair): Promise<void> {
  await writeFile(join(dir, `${stem}.crt`), pair.cert, { mode: 0o644 });
  await writeFile(join(dir, `${stem}.key`), pair.key, { mode: 0o600 });
}

function serial(): string {
  // Positive 128-bit serial: clear the top bit of the first byte.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

