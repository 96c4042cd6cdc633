/**
 * Whether a control-plane host joins an etcd cluster that already runs (a removed host added
 * back, or a cluster grown), and with which members. Pure: the provider asks etcd and the
 * host, this decides.
 *
 * A join is a plain `etcdctl member add` (not a learner then a promote): the member is started
 * right after it is added, in the same step, and the add is refused unless the healthy members
 * plus the new one are a majority of the grown cluster (etcd's runtime reconfiguration: growing
 * 1 → 2 waits on the new member only between its add and its start); a learner would need a
 * promote that polls until the learner caught up, and the apiserver on that host fails while its
 * local etcd is a learner.
 */
export interface KnownMember {
  /** Empty for a member added but not started yet. */
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly healthy: boolean;
}

export type JoinDecision =
  /** No member answered: the cluster is being made (every member starts with `new`). */
  | { readonly kind: 'bootstrap' }
  /** Already a started member: nothing to do. */
  | { readonly kind: 'member' }
  /** Not a member: wipe its data, add it, start it with `existing` and these members. */
  | { readonly kind: 'join'; readonly initialCluster: string }
  /** Added by an earlier join that stopped before its etcd started: start it the same way. */
  | { readonly kind: 'resume'; readonly initialCluster: string }
  | { readonly kind: 'refused'; readonly reason: string };

export function decideJoin(members: readonly KnownMember[] | undefined, self: { readonly name: string; readonly peerURL: string }, joinStarted: boolean): JoinDecision {
  if (!members) return { kind: 'bootstrap' };
  const mine = members.find((m) => m.peerURLs.includes(self.peerURL));
  if (mine && mine.name === self.name) return { kind: 'member' };
  if (mine) {
    // Listed but not started: an earlier join (which leaves its env file) or a bootstrap in progress.
    return joinStarted ? { kind: 'resume', initialCluster: initialCluster(members, self) } : { kind: 'bootstrap' };
  }
  const clash = members.find((m) => m.name === self.name);
  if (clash) return { kind: 'refused', reason: `etcd has a member named ${self.name} at ${clash.peerURLs.join(',')}, not at ${self.peerURL}: remove the host from the stack first (its member is removed), then add it back` };
  const size = members.length + 1;
  const majority = Math.floor(size / 2) + 1;
  const healthy = members.filter((m) => m.healthy).length;
  if (healthy + 1 < majority) {
    const down = members.filter((m) => !m.healthy).map((m) => m.name || m.peerURLs.join(','));
    return { kind: 'refused', reason: `adding ${self.name} makes ${size} members, of which a majority (${majority}) must run, but only ${healthy} are healthy besides it (down: ${down.join(', ')})` };
  }
  return { kind: 'join', initialCluster: initialCluster([...members, { name: self.name, peerURLs: [self.peerURL], healthy: false }], self) };
}

/** `--initial-cluster` of a member joining: every member with each peer URL, this one by its name. */
export function initialCluster(members: readonly KnownMember[], self: { readonly name: string; readonly peerURL: string }): string {
  return members.flatMap((m) => m.peerURLs.map((u) => `${u === self.peerURL ? self.name : m.name}=${u}`)).join(',');
}

/** The env file the etcd unit reads after its bootstrap defaults (see host-files.ts). */
export function joinEnvFile(initial: string): string {
  return `ETCD_INITIAL_CLUSTER=${initial}\nETCD_INITIAL_CLUSTER_STATE=existing\n`;
}
