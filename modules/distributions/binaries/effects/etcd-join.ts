import { HostUnreachableError } from '../../../hosts/index.ts';
import { withHost, type HostAccess } from '../../../hosts/host-access.ts';
import { HostStepError, QuorumRefusedError } from '../errors.ts';
import { decideJoin, joinEnvFile, type JoinDecision, type KnownMember } from '../join-plan.ts';
import { ETCD_DATA_DIR, ETCD_JOIN_ENV } from '../layout.ts';
import { ETCD_PEER_PORT, type BinariesTopology, type ClusterHost } from '../topology.ts';
import { etcdctl, etcdMembers, parseMemberList } from './etcd-members.ts';

/**
 * A control-plane host joining an etcd cluster that already runs: its old data wiped (a removed
 * member's data must never rejoin), `etcdctl member add` on a running member, then its etcd
 * started with `existing` and the current members (the env file its unit reads). Decided by
 * join-plan.ts from what a running member answers.
 */

export interface JoiningMember {
  readonly cluster: string;
  readonly host: string;
  readonly topology: BinariesTopology;
  readonly access: Readonly<Record<string, HostAccess>>;
}

export interface JoinPlan {
  readonly decision: JoinDecision;
  /** The running member asked (and that adds the new one). */
  readonly via?: ClusterHost;
}

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
const peerUrl = (h: ClusterHost): string => `https://${h.address}:${ETCD_PEER_PORT}`;

function selfOf(m: JoiningMember): ClusterHost {
  const self = m.topology.controlPlanes.find((h) => h.name === m.host);
  if (!self) throw new Error(`${m.host} is not a control-plane host of ${m.cluster}`);
  return self;
}

/** The members as the first other control-plane host that answers sees them (undefined: none answered). */
async function askMembers(m: JoiningMember): Promise<{ members: KnownMember[]; via: ClusterHost } | undefined> {
  for (const via of m.topology.controlPlanes.filter((h) => h.name !== m.host)) {
    const access = m.access[via.name];
    if (!access) continue;
    try {
      const found = await withHost(access, async (h) => {
        const list = await h.run({ script: `[ -x ${etcdctl(via.address).split(' ')[0]} ] && systemctl is-active --quiet etcd && ${etcdctl(via.address)} --command-timeout=5s member list -w json` }, { sudo: true, quiet: true, okExitCodes: ANY_EXIT, step: 'list etcd members' });
        if (list.code !== 0) return undefined;
        const peers = new Map(parseMemberList(list.stdout).map((x) => [x.hexId, x.peerURLs ?? []]));
        const health = await etcdMembers(h, via.address);
        return health.map((x): KnownMember => ({ name: x.name, healthy: x.healthy, peerURLs: peers.get(x.hexId) ?? [] }));
      });
      if (found) return { members: found, via };
    } catch (err) {
      if (err instanceof HostUnreachableError) continue;
      throw err;
    }
  }
  return undefined;
}

/** Read-only: whether `m` must join, and through which member. */
export async function planJoin(m: JoiningMember): Promise<JoinPlan> {
  if (m.topology.controlPlanes.length < 2) return { decision: { kind: 'bootstrap' } };
  const self = selfOf(m);
  const answer = await askMembers(m);
  if (!answer) return { decision: { kind: 'bootstrap' } };
  const started = await withHost(accessOf(m, m.host), (h) => h.run({ script: `test -f ${ETCD_JOIN_ENV}` }, { sudo: true, quiet: true, okExitCodes: [0, 1], step: 'check for an etcd join' }));
  return { decision: decideJoin(answer.members, { name: self.name, peerURL: peerUrl(self) }, started.code === 0), via: answer.via };
}

/** Wipes the host's etcd data, writes the join env, adds the member (a `join`; a `resume` is already added). */
export async function startJoin(m: JoiningMember, plan: JoinPlan): Promise<void> {
  const d = plan.decision;
  if (d.kind === 'refused') throw new QuorumRefusedError(`refusing to add ${m.host} to the etcd cluster of ${m.cluster}: ${d.reason}`, { where: `host ${m.host}`, hint: 'bring the unhealthy members back first, then run `infra up` again' });
  if (d.kind !== 'join' && d.kind !== 'resume') return;
  const self = selfOf(m);
  const prepare = [
    'systemctl disable --now etcd >/dev/null 2>&1 || true',
    `rm -rf ${ETCD_DATA_DIR} && mkdir -m 700 ${ETCD_DATA_DIR}`,
    `mkdir -p $(dirname ${ETCD_JOIN_ENV}) && umask 077 && cat > ${ETCD_JOIN_ENV} <<'EOF'\n${joinEnvFile(d.initialCluster)}EOF`,
  ].join('\n');
  await withHost(accessOf(m, m.host), (h) => h.run({ script: prepare }, { sudo: true, mutating: true, step: 'wipe the old etcd data and prepare the join' }));
  if (d.kind === 'join' && plan.via) {
    const via = plan.via;
    await withHost(accessOf(m, via.name), (h) => h.run({ script: `${etcdctl(via.address)} member add ${m.host} --peer-urls=${peerUrl(self)}` }, { sudo: true, mutating: true, step: `add etcd member ${m.host}` }));
  }
}

/** How long a joined member may take to serve (it first streams a snapshot from the leader). */
const JOIN_HEALTH_TRIES = 60;

/**
 * Once the member runs and serves (its own endpoint answers a health check: `up` never reports a
 * join done while the new member cannot answer), its env file goes (etcd reads it only with an
 * empty data dir anyway).
 */
export async function finishJoin(m: JoiningMember): Promise<void> {
  const self = selfOf(m);
  const check = `${etcdctl(self.address)} --endpoints=https://${self.address}:2379 --command-timeout=3s endpoint health >/dev/null 2>&1`;
  const wait = `for i in $(seq 1 ${JOIN_HEALTH_TRIES}); do ${check} && exit 0; sleep 2; done; exit 1`;
  const served = await withHost(accessOf(m, m.host), (h) => h.run({ script: wait }, { sudo: true, quiet: true, okExitCodes: [0, 1], step: 'wait for the joined etcd member to serve' }));
  if (served.code !== 0) throw new HostStepError(m.host, 'wait for the joined etcd member to serve', `etcd joined the cluster of ${m.cluster} but does not answer a health check on https://${self.address}:2379`, { hint: `look at \`journalctl -u etcd\` on ${m.host}, then run \`infra up\` again` });
  await withHost(accessOf(m, m.host), (h) => h.run({ script: `rm -f ${ETCD_JOIN_ENV}` }, { sudo: true, mutating: true, step: 'finish the etcd join' }));
}

function accessOf(m: JoiningMember, host: string): HostAccess {
  const a = m.access[host];
  if (!a) throw new Error(`no connection data for host ${host} of cluster ${m.cluster}`);
  return a;
}
