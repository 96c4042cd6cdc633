import type { ServerHostKeyAlgorithm } from 'ssh2';

/** Host key algorithms ssh2 can verify, in its default order. */
const ALGORITHMS: readonly ServerHostKeyAlgorithm[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

function algorithmsOf(keyType: string): ServerHostKeyAlgorithm[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return ALGORITHMS.filter((a) => a === keyType);
}

/**
 * Like OpenSSH, ask first for the key types already known for the host, so a host with both an
 * ECDSA and an Ed25519 key, known by one of them, is not taken for a changed key.
 */
export function hostKeyAlgorithms(knownTypes: readonly string[]): ServerHostKeyAlgorithm[] {
  const preferred = knownTypes.flatMap(algorithmsOf);
  return [...new Set([...preferred, ...ALGORITHMS])];
}
