/**
 * A control-plane restart must not leave nodes behind. While the apiserver the kubelets talk to
 * restarts, their lease renewals fail; if that takes longer than the node-monitor grace period, the
 * controller manager marks the nodes `Unknown` (and would start evicting). So after each
 * control-plane member of a roll, every node that was Ready before it must have renewed its
 * Lease through the returned apiserver and be Ready again before the roll drains anything.
 *
 * A renewTime changed since a reading taken through the returned apiserver is the proof, not a
 * comparison with a clock: that renewal went through it, whatever the hosts' clocks say. (A
 * reading from before the restart would not do: a kubelet may renew once more before it goes down.)
 */

export interface NodeHeartbeat {
  readonly name: string;
  /** The Ready condition's status (True, False, Unknown), '' when the node has none yet. */
  readonly ready: string;
  /** Its Lease's spec.renewTime in kube-node-lease, '' without one. */
  readonly renewTime: string;
}

const LEASES_MARK = '--leases--';

/** Read-only: every node's Ready status, then every node Lease's renewTime, one per line. */
export function heartbeatScript(kubectl: string): string {
  const nodes = `{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}`;
  const leases = `{range .items[*]}{.metadata.name}{" "}{.spec.renewTime}{"\\n"}{end}`;
  return `set -e
${kubectl} get nodes -o jsonpath='${nodes}'
echo '${LEASES_MARK}'
${kubectl} -n kube-node-lease get leases -o jsonpath='${leases}'`;
}

export function parseHeartbeats(stdout: string): NodeHeartbeat[] {
  const [nodePart = '', leasePart = ''] = stdout.split(`${LEASES_MARK}\n`);
  const pairs = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [name = '', value = ''] = l.split(/\s+/);
    return [name, value] as const;
  });
  const renewed = new Map(pairs(leasePart));
  return pairs(nodePart)
    .map(([name, ready]) => ({ name, ready, renewTime: renewed.get(name) ?? '' }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Of the nodes that were Ready before the restart, those not back in `now`: Lease not renewed
 * since `baseline` (read once the apiserver answered again), or gone, or not Ready. A node
 * deleted meanwhile is not waited for.
 */
export function nodesNotBack(wasReady: readonly string[], baseline: readonly NodeHeartbeat[], now: readonly NodeHeartbeat[]): NodeHeartbeat[] {
  const base = new Map(baseline.map((n) => [n.name, n.renewTime]));
  const current = new Map(now.map((n) => [n.name, n]));
  return wasReady.flatMap((name) => {
    const n = current.get(name);
    if (!n) return [];
    return n.ready === 'True' && n.renewTime !== '' && n.renewTime !== base.get(name) ? [] : [n];
  });
}

export const readyNames = (nodes: readonly NodeHeartbeat[]): string[] => nodes.filter((n) => n.ready === 'True').map((n) => n.name);

/** "upg-2 (Ready Unknown, lease last renewed 2026-…)" for the error. */
export function describeNotBack(nodes: readonly NodeHeartbeat[]): string {
  return nodes.map((n) => `${n.name} (Ready ${n.ready || 'not reported'}, lease last renewed ${n.renewTime || 'never'})`).join(', ');
}
