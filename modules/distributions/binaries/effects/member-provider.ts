import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { infraHome } from '../../../../clusters/host/paths.ts';
import { HostUnreachableError, type RemoteHost } from '../../../hosts/index.ts';
import { HostStepError, QuorumRefusedError, RollStoppedError } from '../errors.ts';
import { rollQueueOf } from '../roll.ts';
import { BIN_DIR, kubeconfigPath } from '../layout.ts';
import { batchCheckScript, memberSteps, pendingSteps, planDigest, stepsOutOfPlace, type MemberPlanInput } from '../member-plan.ts';
import { decideMemberRemoval } from '../removal-plan.ts';
import { etcdctl, etcdMembers } from './etcd-members.ts';
import { finishJoin, planJoin, startJoin } from './etcd-join.ts';
import { runSteps } from '../run-steps.ts';
import { clusterRetired } from '../../../engine/kept-clusters.ts';
import { notePreview } from '../../../engine/preview-note.ts';
import { clusterArtifacts } from './artifacts.ts';
import { podNetworkOf } from '../node-addons.ts';
import { nodeLabelStep } from '../node-labels.ts';
import { connect, withHost, type HostAccess } from '../../../hosts/host-access.ts';
import { stepHost } from './step-host.ts';
import { keepingNodesReady } from './keep-nodes-ready.ts';

/**
 * What the ControlPlaneMember and ClusterNode resources do, run inside Pulumi's dynamic-provider
 * process (loaded by path, like modules/local/). A refresh checks every step read-only, so an
 * `up` with nothing out of place calls no update and runs no mutating command.
 */

export interface MemberInputs extends MemberPlanInput {
  readonly cluster: string;
  /** Every host of the cluster by name (this one, and the first control plane for API calls). */
  readonly access: Readonly<Record<string, HostAccess>>;
}

export interface MemberOutputs extends MemberInputs {
  readonly planDigest: string;
  /** Every check passed at the last refresh (false: something drifted, or the host was unreachable). */
  readonly inSync: boolean;
  /** Mutating commands and uploads the last create/update ran. */
  readonly mutations: number;
  /** The steps whose check failed at the last refresh (what `preview` shows as drifted). */
  readonly outOfPlace?: readonly string[];
}

const ADMIN = `${BIN_DIR}/kubectl --kubeconfig=${kubeconfigPath('admin')}`;

function accessOf(m: MemberInputs, host: string): HostAccess {
  const a = m.access[host];
  if (!a) throw new Error(`no connection data for host ${host} of cluster ${m.cluster}`);
  return a;
}

const apiHost = (m: MemberInputs): HostAccess => accessOf(m, m.topology.controlPlanes[0]?.name ?? m.host);

/** Every mutation, one line each (host, step): what "a second up changes nothing" is measured by. */
async function journal(host: string, role: string, mutations: number): Promise<void> {
  if (mutations === 0) return;
  const dir = join(infraHome(), 'hosts');
  await mkdir(dir, { recursive: true });
  await appendFile(join(dir, 'mutations.log'), `${new Date().toISOString()} ${host} ${role} ${mutations}\n`);
}

/** The binaries of the cluster's Kubernetes version (kube-*, kubelet) and the pinned rest. */
const artifactsOf = (m: MemberPlanInput) => clusterArtifacts({ version: m.topology.version, addons: m.topology.addons });

async function bring(m: MemberInputs): Promise<MemberOutputs> {
  const artifacts = await artifactsOf(m);
  const steps = memberSteps(m, artifacts);
  const run = await withHost(accessOf(m, m.host), (h) => runSteps(stepHost(h), steps, { readLocal: (p) => readFile(p) }));
  const mutations = run.mutations + (m.role === 'node' ? await settleNode(m) : 0);
  await journal(m.host, m.role, mutations);
  return { ...m, planDigest: planDigest(steps), inSync: true, mutations, outOfPlace: [] };
}

/**
 * Through the apiserver, once the node's kubelet runs: wait for its Node, then its runtime labels
 * (node-labels.ts: a Node registered before the kubelet had them never gets them otherwise).
 * Returns the mutations (0 when the labels were right).
 */
async function settleNode(m: MemberInputs): Promise<number> {
  return withHost(apiHost(m), async (h) => {
    // With a CNI add-on the node is Ready only once the add-on's DaemonSet runs there (after `up` applied it).
    await waitNodeReady(h, m, podNetworkOf(m.topology) === 'routes' ? 'Ready' : 'registered');
    const labelled = await runSteps(stepHost(h), [nodeLabelStep(ADMIN, m.host, m.topology.addons)], { readLocal: (p) => readFile(p) });
    return labelled.mutations;
  });
}

/** A control-plane member restarted in a roll: the nodes Ready before are Ready again before the roll goes on. */
const bringControlPlane = (m: MemberInputs): Promise<MemberOutputs> => keepingNodesReady(m.host, apiHost(m), ADMIN, () => bring(m));

async function waitNodeReady(api: RemoteHost, m: MemberInputs, until: 'Ready' | 'registered'): Promise<void> {
  // Ready as reported by the kubelet at the cluster's version (after an upgrade, not the old one's last status);
  // registered: the kubelet at that version has its Node (a CNI add-on makes it Ready later).
  const want = `True v${m.topology.version}`;
  const probe = until === 'Ready'
    ? `[ "$(${ADMIN} get node ${m.host} -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.nodeInfo.kubeletVersion}' 2>/dev/null)" = '${want}' ]`
    : `[ "$(${ADMIN} get node ${m.host} -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null)" = 'v${m.topology.version}' ]`;
  const script = `i=0; until ${probe}; do i=$((i+1)); if [ $i -ge 180 ]; then ${ADMIN} get node ${m.host} -o wide >&2 || true; exit 1; fi; sleep 1; done`;
  try {
    await api.run({ script }, { sudo: true, quiet: true, step: `wait for node ${m.host} Ready` });
  } catch (err) {
    throw new HostStepError(m.host, 'wait for the node to be Ready', `node ${m.host} did not become Ready with kubelet v${m.topology.version} in 180 s`, { cause: err, hint: `see \`journalctl -u kubelet\` on ${m.host}` });
  }
}

export async function create(inputs: MemberInputs): Promise<{ id: string; outs: MemberOutputs }> {
  const id = `${inputs.cluster}/${inputs.role}/${inputs.host}`;
  if (inputs.role === 'control-plane' && (await planJoin(inputs)).decision.kind !== 'bootstrap') return { id, outs: await joinAndBring(inputs) };
  return { id, outs: await bring(inputs) };
}

/**
 * A control-plane host joining a running cluster (a removed one added back): in the roll queue,
 * so no other member restarts while the cluster grows; decided again once its turn comes.
 */
function joinAndBring(m: MemberInputs): Promise<MemberOutputs> {
  const stopped = (at: { host: string; message: string }) =>
    new RollStoppedError(`the changes of cluster ${m.cluster} stopped at ${at.host}: ${at.message}`, { where: `host ${m.host}`, hint: `${m.host} did not join yet; fix ${at.host} and run \`infra up\` again to go on` });
  return rollQueueOf(m.cluster).run(m.host, async () => {
    const plan = await planJoin(m);
    await startJoin(m, plan);
    const outs = await bringControlPlane(m);
    if (plan.decision.kind === 'join' || plan.decision.kind === 'resume') await finishJoin(m);
    return outs;
  }, stopped);
}

export async function read(id: string, props: MemberOutputs): Promise<{ id: string; props: MemberOutputs }> {
  try {
    const steps = memberSteps(props, await artifactsOf(props));
    const out = await withHost(accessOf(props, props.host), (h) => h.run({ script: batchCheckScript(steps) }, { sudo: true, quiet: true, step: 'check' }));
    const outOfPlace = stepsOutOfPlace(out.stdout);
    return { id, props: { ...props, inSync: outOfPlace.length === 0, outOfPlace } };
  } catch (err) {
    // An unreachable host is out of sync, not a failed refresh: the others still go ahead.
    if (err instanceof HostUnreachableError) return { id, props: { ...props, inSync: false, outOfPlace: [] } };
    throw err;
  }
}

export async function diff(olds: MemberOutputs, news: MemberInputs): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
  const replaces = ['cluster', 'role', 'host'].filter((k) => olds[k as keyof MemberInputs] !== news[k as keyof MemberInputs]);
  const steps = memberSteps(news, await artifactsOf(news));
  const changes = replaces.length > 0 || olds.inSync === false || olds.planDigest !== planDigest(steps);
  if (changes && replaces.length === 0) {
    // The old plan's binaries may be gone from the cache: then preview says only that the plan changed.
    const oldArtifacts = await artifactsOf(olds).catch(() => undefined);
    await notePreview(`${news.role === 'node' ? 'node' : 'control-plane'}:${news.cluster}:${news.host}`, () => {
      if (!oldArtifacts) throw new Error('old binaries unavailable');
      const lines = pendingSteps(memberSteps(olds, oldArtifacts), steps, olds.outOfPlace ?? []);
      return lines.length > 0 ? lines : ['every check again (the host did not answer the refresh)'];
    });
  }
  return { changes, replaces, deleteBeforeReplace: true };
}

/**
 * An update (a new version, config or certificate) rolls: one member of the cluster at a time;
 * a node is drained first and uncordoned once Ready again; the first failure stops the roll.
 */
export async function update(_id: string, olds: MemberOutputs, news: MemberInputs): Promise<{ outs: MemberOutputs }> {
  const stopped = (at: { host: string; message: string }) =>
    new RollStoppedError(`the roll of cluster ${news.cluster} stopped at ${at.host}: ${at.message}`, { where: `host ${news.host}`, hint: `${news.host} was not changed; fix ${at.host} and run \`infra up\` again to go on` });
  // Its place in the roll is taken before the first await: the roll follows the engine's order.
  const turn = rollQueueOf(news.cluster).enter(news.host);
  // A member that only drifted (nothing planned changed) is repaired in place, outside the roll:
  // one unreachable host must not hold back the repair of the others.
  let planned: boolean;
  try {
    planned = olds.planDigest !== planDigest(memberSteps(news, await artifactsOf(news)));
  } catch (err) {
    turn.skip();
    throw err;
  }
  if (!planned) {
    turn.skip();
    return { outs: await bring(news) };
  }
  return turn.run(async () => {
    if (news.role !== 'node') return { outs: await bringControlPlane(news) };
    await cordonAndDrain(news);
    const outs = await bring(news);
    await uncordon(news);
    return { outs };
  }, stopped);
}

async function cordonAndDrain(m: MemberInputs): Promise<void> {
  const script = `${ADMIN} get node ${m.host} >/dev/null 2>&1 || exit 0
${ADMIN} drain ${m.host} --ignore-daemonsets --delete-emptydir-data --force --timeout=120s`;
  await withHost(apiHost(m), (h) => h.run({ script }, { sudo: true, mutating: true, step: `drain ${m.host}` }));
}

async function uncordon(m: MemberInputs): Promise<void> {
  await withHost(apiHost(m), (h) => h.run({ script: `${ADMIN} uncordon ${m.host}` }, { sudo: true, mutating: true, step: `uncordon ${m.host}` }));
}

/**
 * A host leaves: drained and its Node deleted, then its etcd member removed, then its services
 * stopped. When the whole cluster goes (`infra destroy`, or the cluster left the stack) there is
 * no cluster to leave: its services stop and its data stays on the host.
 */
export async function remove(_id: string, olds: MemberOutputs): Promise<void> {
  if (!clusterRetired(olds.cluster)) {
    if (olds.role === 'node') await leaveAsNode(olds);
    else await leaveAsControlPlane(olds);
  }
  await stopServices(olds);
}

async function leaveAsNode(m: MemberOutputs): Promise<void> {
  const script = `${ADMIN} get node ${m.host} >/dev/null 2>&1 || exit 0
${ADMIN} drain ${m.host} --ignore-daemonsets --delete-emptydir-data --force --timeout=120s
${ADMIN} delete node ${m.host} --wait=true`;
  await withHost(apiHost(m), (h) => h.run({ script }, { sudo: true, mutating: true, step: `drain and delete node ${m.host}` }));
}

async function leaveAsControlPlane(m: MemberOutputs): Promise<void> {
  const via = m.topology.controlPlanes.find((h) => h.name !== m.host && m.access[h.name]);
  if (!via) {
    throw new QuorumRefusedError(`${m.host} is the last etcd member of cluster ${m.cluster}: removing it would delete the cluster's data`, {
      where: `host ${m.host}`,
      hint: 'keep at least one control-plane host in the stack; to retire the cluster, remove the cluster itself from the stack or run infra destroy (its hosts keep their data)',
    });
  }
  await withHost(accessOf(m, via.name), async (h) => {
    const members = await etcdMembers(h, via.address);
    const decision = decideMemberRemoval(members, m.host);
    if (!decision.allowed) throw new QuorumRefusedError(`refusing to remove ${m.host} from cluster ${m.cluster}: ${decision.reason}`, { where: `host ${m.host}`, hint: 'bring the unhealthy members back first, then run `infra up` again' });
    const leaving = members.find((x) => x.name === m.host);
    if (leaving) await h.run({ script: `${etcdctl(via.address)} member remove ${leaving.hexId}` }, { sudo: true, mutating: true, step: `remove etcd member ${m.host}` });
  });
}

async function stopServices(m: MemberOutputs): Promise<void> {
  const services = m.role === 'node' ? ['kubelet'] : ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
  let host: RemoteHost | undefined;
  try {
    host = await connect(accessOf(m, m.host), { env: process.env });
  } catch (err) {
    // Gone for good (the usual reason to remove a host): its part in the cluster is already undone.
    if (err instanceof HostUnreachableError) return;
    throw err;
  }
  try {
    await host.run({ script: `for s in ${services.join(' ')}; do systemctl disable --now "$s" >/dev/null 2>&1 || true; done` }, { sudo: true, mutating: true, step: 'stop services' });
  } finally {
    await host.close();
  }
}
