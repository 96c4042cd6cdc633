import { setTimeout as sleep } from 'node:timers/promises';
import { withHost, type HostAccess } from '../../../hosts/host-access.ts';
import type { RemoteHost } from '../../../hosts/index.ts';
import { HostStepError } from '../errors.ts';
import { describeNotBack, heartbeatScript, nodesNotBack, parseHeartbeats, readyNames, type NodeHeartbeat } from '../nodes-back.ts';

/** Ten lease renewals of a kubelet (every 10 s) and then some: a node not back by then has a problem of its own. */
const BOUND_MS = 120_000;
const POLL_MS = 2_000;

async function heartbeats(h: RemoteHost, kubectl: string): Promise<NodeHeartbeat[]> {
  const out = await h.run({ script: heartbeatScript(kubectl) }, { sudo: true, quiet: true, step: 'read node heartbeats' });
  return parseHeartbeats(out.stdout);
}

/**
 * Runs `restart` (bringing a control-plane member) and then waits until every node that was
 * Ready before has renewed its Lease through the returned apiserver and is Ready (nodes-back.ts),
 * so the roll never drains a worker while the nodes are `Unknown`. Bounded; names the nodes.
 */
export async function keepingNodesReady<T>(member: string, api: HostAccess, kubectl: string, restart: () => Promise<T>): Promise<T> {
  // No answer before (the apiserver is what is being repaired): no node is known Ready, none is waited for.
  const wasReady = await withHost(api, (h) => heartbeats(h, kubectl)).then(readyNames, () => []);
  const result = await restart();
  if (wasReady.length === 0) return result;
  await withHost(api, async (h) => {
    const deadline = Date.now() + BOUND_MS;
    let baseline: NodeHeartbeat[] | undefined;
    let last: NodeHeartbeat[] = [];
    for (;;) {
      const now = await heartbeats(h, kubectl).catch(() => undefined);
      if (now && !baseline) baseline = now;
      else if (now && baseline) {
        last = nodesNotBack(wasReady, baseline, now);
        if (last.length === 0) return;
      }
      if (Date.now() > deadline) {
        const which = baseline ? describeNotBack(last) : 'the apiserver did not answer';
        throw new HostStepError(member, 'wait for the nodes to report again', `after the restart of ${member}, nodes Ready before did not report through the apiserver in ${BOUND_MS / 1000} s: ${which}`, {
          hint: 'see `journalctl -u kubelet` on those nodes and `journalctl -u kube-apiserver` on the control plane; the roll stopped before draining any worker',
        });
      }
      await sleep(POLL_MS);
    }
  });
  return result;
}
