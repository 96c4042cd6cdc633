import { HostKeyMismatchError, HostKeyUnknownError } from './errors.ts';
import { checkKnownHosts, fingerprintOf, type HostPublicKey, type KnownHostEntry } from './known-hosts.ts';

/** A host key as the stack's state keeps it once pinned (the resource stores this record). */
export interface HostKeyPin {
  /** The known_hosts name: `address` or `[address]:port`. */
  readonly name: string;
  readonly type: string;
  /** Public key blob, base64. */
  readonly publicKey: string;
  /** `SHA256:...`, for people. */
  readonly fingerprint: string;
}

export interface HostKeyPolicy {
  /** The key recorded in the stack's state: only it is accepted, whatever known_hosts says. */
  readonly pinned?: HostKeyPin | undefined;
  /** Accept and record an unknown key (trust on first use); off by default. */
  readonly pinOnFirstUse?: boolean;
  /** known_hosts files (default: ssh config UserKnownHostsFile, else ~/.ssh/known_hosts). */
  readonly knownHostsFiles?: readonly string[];
}

export interface HostKeyDecision {
  readonly pin: HostKeyPin;
  /** Why the key is trusted: `pinned`, a known_hosts `file:line`, or `first use`. */
  readonly trustedBy: string;
  /** True when the key was just pinned: the caller must record `pin`. */
  readonly newlyPinned: boolean;
}

/** Decide about the key a host presented; a refusal is a typed error naming both fingerprints. */
export function decideHostKey(
  d: { host: string; name: string; key: HostPublicKey; entries: readonly KnownHostEntry[]; knownHostsFiles: readonly string[] },
  policy: HostKeyPolicy,
): HostKeyDecision | HostKeyMismatchError | HostKeyUnknownError {
  const actual = fingerprintOf(d.key);
  const pin: HostKeyPin = { name: d.name, type: d.key.type, publicKey: d.key.base64, fingerprint: actual };
  if (policy.pinned) {
    if (policy.pinned.publicKey === d.key.base64) return { pin, trustedBy: 'pinned', newlyPinned: false };
    return new HostKeyMismatchError(d.host, { expected: policy.pinned.fingerprint, actual, source: "the key pinned in the stack's state" });
  }
  const verdict = checkKnownHosts(d.entries, d.name, d.key);
  if (verdict.kind === 'trusted') return { pin, trustedBy: verdict.source, newlyPinned: false };
  if (verdict.kind === 'mismatch') return new HostKeyMismatchError(d.host, { expected: verdict.expected, actual, source: verdict.source });
  if (policy.pinOnFirstUse) return { pin, trustedBy: 'first use', newlyPinned: true };
  return new HostKeyUnknownError(d.host, actual, d.name, d.knownHostsFiles);
}
