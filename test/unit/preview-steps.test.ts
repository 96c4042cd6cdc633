import { describe, expect, it } from 'vitest';
import { pendingSteps } from '../../modules/distributions/binaries/member-plan.ts';
import { binaryStep, fileSteps, serviceStep, waitStep, type Step } from '../../modules/distributions/binaries/steps.ts';

const file = (content: string) => fileSteps([{ path: '/etc/kubelet.conf', content, mode: 0o644, secret: false, service: 'kubelet' }]);
const plan = (kubelet: string, conf: string): Step[] => [
  binaryStep('kubelet', { path: '/cache/kubelet', sha256: kubelet }),
  ...file(conf),
  serviceStep('containerd', []),
  waitStep('wait:x', 'wait', 'true', 1),
  serviceStep('kubelet', ['binary:kubelet', 'file:/etc/kubelet.conf']),
];

describe('the steps preview shows for a host', () => {
  it('lists changed steps and the restarts they force, in run order', () => {
    expect(pendingSteps(plan('a', 'x'), plan('b', 'x'), [])).toEqual(['install kubelet (changed)', 'restart kubelet']);
  });

  it('lists drifted steps (failed checks at the refresh) the same way, and nothing for a host as planned', () => {
    expect(pendingSteps(plan('a', 'x'), plan('a', 'x'), ['file:/etc/kubelet.conf', 'service:containerd'])).toEqual(['write /etc/kubelet.conf (drifted)', 'start containerd (drifted)', 'restart kubelet']);
    expect(pendingSteps(plan('a', 'x'), plan('a', 'x'), [])).toEqual([]);
  });

  it('counts a step new in the plan as changed', () => {
    expect(pendingSteps(plan('a', 'x').slice(0, 1), plan('a', 'x'), [])).toEqual(['write /etc/kubelet.conf (changed)', 'start containerd (changed)', 'start kubelet (changed)']);
  });
});
