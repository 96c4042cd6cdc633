/**
 * Whether an etcd member may leave: never the last one, and never when the members left
 * behind could not form a majority of the smaller cluster (their health as etcd reports it).
 * Pure: the provider asks etcd, this decides, with the reason a refusal shows.
 */
export interface MemberHealth {
  readonly name: string;
  readonly healthy: boolean;
}

export type RemovalDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export function decideMemberRemoval(members: readonly MemberHealth[], leaving: string): RemovalDecision {
  const left = members.filter((m) => m.name !== leaving);
  if (left.length === 0) return { allowed: false, reason: `${leaving} is the last etcd member: removing it would delete the cluster's data` };
  const healthyLeft = left.filter((m) => m.healthy).length;
  const majority = Math.floor(left.length / 2) + 1;
  if (healthyLeft < majority) {
    const down = left.filter((m) => !m.healthy).map((m) => m.name);
    return { allowed: false, reason: `after removing ${leaving}, ${healthyLeft} of ${left.length} members would be healthy (a majority needs ${majority}; down: ${down.join(', ') || 'none'})` };
  }
  return { allowed: true };
}

/** The order a host leaves a cluster in: the API first (drain, delete the Node), etcd after, services last. */
export type LeaveStep = 'drain' | 'delete-node' | 'remove-etcd-member' | 'stop-services';

export function leaveOrder(role: { readonly controlPlane: boolean; readonly node: boolean }): LeaveStep[] {
  return [...(role.node ? (['drain', 'delete-node'] as const) : []), ...(role.controlPlane ? (['remove-etcd-member'] as const) : []), 'stop-services'];
}
