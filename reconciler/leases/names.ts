/** Names of our Leases in the management cluster's namespace. */

export const SHARD_LEASE_PREFIX = 'infra-shard-';
export const MEMBER_LEASE_PREFIX = 'infra-member-';

export function shardName(shard: number): string {
  return `${SHARD_LEASE_PREFIX}${shard}`;
}

export function memberName(identity: string): string {
  return `${MEMBER_LEASE_PREFIX}${identity}`;
}
