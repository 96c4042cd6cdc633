/** Names of our Leases in the management cluster's namespace. */

export const SHARD_LEASE_PREFIX = 'infra-shard-';
export const MEMBER_LEASE_PREFIX = 'infra-member-';
/** On member Leases: the shard count of that replica (all replicas must agree, or two could own one app). */
export const SHARDS_ANNOTATION = 'infra.dev/shards';

export function shardName(shard: number): string {
  return `${SHARD_LEASE_PREFIX}${shard}`;
}

/** A Lease name (DNS-1123 subdomain) for any identity: lower case, other characters as '-'. */
export function memberName(identity: string): string {
  const safe = identity.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '');
  return `${MEMBER_LEASE_PREFIX}${safe || 'replica'}`.slice(0, 253);
}
