import { describe, expect, it } from 'vitest';
import { describeNotBack, heartbeatScript, nodesNotBack, parseHeartbeats, readyNames } from '../../modules/distributions/binaries/nodes-back.ts';

const reading = (lines: string[], leases: string[]) => parseHeartbeats(`${lines.join('\n')}\n--leases--\n${leases.join('\n')}\n`);

describe('nodes back after a control-plane restart', () => {
  it('parses nodes and leases into one sorted list; a node without lease or condition keeps empty fields', () => {
    const r = reading(['w2 True', 'w1 Unknown', 'w3'], ['w1 2026-11-26T12:29:48.000001Z', 'w2 2026-11-26T12:29:50.000000Z']);
    expect(r).toEqual([
      { name: 'w1', ready: 'Unknown', renewTime: '2026-11-26T12:29:48.000001Z' },
      { name: 'w2', ready: 'True', renewTime: '2026-11-26T12:29:50.000000Z' },
      { name: 'w3', ready: '', renewTime: '' },
    ]);
    expect(readyNames(r)).toEqual(['w2']);
  });

  it('a node is back only once its lease renewed after the baseline and it is Ready', () => {
    const baseline = reading(['w1 True', 'w2 True'], ['w1 T1', 'w2 T1']);
    // Still Ready from before the outage, lease not renewed since: the node monitor may yet mark it Unknown.
    expect(nodesNotBack(['w1', 'w2'], baseline, baseline).map((n) => n.name)).toEqual(['w1', 'w2']);
    // Renewed, but the controller already marked it Unknown: the kubelet's next status fixes that.
    expect(nodesNotBack(['w1', 'w2'], baseline, reading(['w1 Unknown', 'w2 True'], ['w1 T2', 'w2 T2'])).map((n) => n.name)).toEqual(['w1']);
    expect(nodesNotBack(['w1', 'w2'], baseline, reading(['w1 True', 'w2 True'], ['w1 T2', 'w2 T3']))).toEqual([]);
  });

  it('waits only for nodes Ready before; a node deleted meanwhile is not waited for', () => {
    const baseline = reading(['w1 True', 'w2 NotReady'], ['w1 T1', 'w2 T1']);
    expect(nodesNotBack(['w1'], baseline, reading(['w2 False'], ['w2 T1']))).toEqual([]);
    expect(nodesNotBack([], baseline, baseline)).toEqual([]);
  });

  it('names each node that is not back with what it last reported', () => {
    const late = nodesNotBack(['w1', 'w2'], reading(['w1 True', 'w2 True'], ['w1 T1']), reading(['w1 Unknown', 'w2 True'], ['w1 T1']));
    expect(describeNotBack(late)).toBe('w1 (Ready Unknown, lease last renewed T1), w2 (Ready True, lease last renewed never)');
  });

  it('reads with one script: nodes, a mark, then the leases of kube-node-lease', () => {
    const s = heartbeatScript('kubectl --kubeconfig=/a');
    expect(s).toContain(`kubectl --kubeconfig=/a get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'`);
    expect(s).toContain('kubectl --kubeconfig=/a -n kube-node-lease get leases');
    expect(s.indexOf('--leases--')).toBeGreaterThan(s.indexOf('get nodes'));
  });
});
