import { createCertificateAuthority, createServiceAccountKey, issueCertificate, type PemPair } from '../../../clusters/local/pki.ts';
import { clusterCertificates } from './pki-plan.ts';
import type { BinariesTopology } from './topology.ts';

/**
 * The cluster's PKI as data (kept in the Pulumi state as a secret, never in a world-readable
 * file): made once, then only the certificates of new hosts are issued, so adding a node
 * leaves every other host's files untouched.
 */
export interface ClusterPki {
  readonly ca: PemPair;
  readonly serviceAccount: { readonly key: string; readonly pub: string };
  readonly certs: Readonly<Record<string, PemPair>>;
}

export async function ensureClusterPki(t: BinariesTopology, existing?: ClusterPki): Promise<ClusterPki> {
  const ca = existing?.ca ?? (await createCertificateAuthority(`infra-${t.cluster}-ca`));
  const serviceAccount = existing?.serviceAccount ?? (await createServiceAccountKey());
  const certs: Record<string, PemPair> = {};
  for (const request of clusterCertificates(t)) {
    certs[request.file] = existing?.certs[request.file] ?? (await issueCertificate(ca, request));
  }
  return { ca, serviceAccount, certs };
}

export function certOf(pki: ClusterPki, file: string): PemPair {
  const pair = pki.certs[file];
  if (!pair) throw new Error(`the cluster PKI has no certificate "${file}" (planned certificates changed without re-issuing)`);
  return pair;
}
