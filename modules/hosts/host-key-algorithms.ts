/** Host key algorithms ssh2 can verify, in its default order. */
const ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

function algorithmsOf(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

/**
 * Like OpenSSH, ask first for the key types already known for the host, so a host with both an
 * ECDSA and an Ed25519 key, known by one of them, is not taken for a changed key.
 */
export function hostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const preferred = knownTypes.flatMap(algorithmsOf).filter((a) => ALGORITHMS.includes(a));
  return [...new Set([...preferred, ...ALGORITHMS])];
}
