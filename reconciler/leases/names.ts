/** Names of our Leases in the management cluster's namespace. */

export const SHARD_LEASE_PREFIX = 'infra-shard-';
export const MEMBER_LEASE_PREFIX = 'infra-member-';

export function shardName(shard: number): string {
  return `${SHARD_LEASE_PREFIX}${shard}`;
}

/** A Lease name (DNS-1123 subdomain) for any identity: lower case, other characters as '-'. */
export function memberName(identity: string): string {
  const safe = identity.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return `${MEMBER_LEASE_PREFIX}${safe || 'replica'}`.slice(0, 253);
}
