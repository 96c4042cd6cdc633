import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { resolveBinaries } from '../../clusters/tools/resolver.ts';
import { runtimeNodeLabel } from '../../modules/addons/runtimes.ts';
import { nodeAddonsOf } from '../../modules/distributions/binaries/node-addons.ts';
import { nodeLabelStep } from '../../modules/distributions/binaries/node-labels.ts';
import { runSteps, type StepHost } from '../../modules/distributions/binaries/run-steps.ts';
import { clients, testClusters, testEnvironment } from '../harness/environment.ts';

/**
 * The runtime label step of the `binaries` distribution (node-labels.ts) against a real apiserver
 * and a (kwok) Node that registered without the label: its check and its patch as the executor
 * runs them on a control-plane host, here through the pinned kubectl on this machine.
 */

/** The step executor's host, as a local shell: checks answer by exit status, changes must succeed. */
const localShell: StepHost = {
  name: 'local',
  check: async (_step, script) => spawnSync('sh', ['-c', script]).status === 0,
  change: async (step, script) => {
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${step}: ${r.stderr}`);
  },
  upload: async () => {
    throw new Error('no uploads here');
  },
};
const readLocal = async () => Buffer.from('');
const addons = (runtimes: ('gvisor' | 'kata')[]) => nodeAddonsOf({ cni: 'bridge', csi: 'none', runtimes, addons: true });

describe('runtime labels of a registered Node, through the apiserver', () => {
  it('adds the gvisor label once, keeps foreign labels, and removes it when gVisor left the stack', async () => {
    const cluster = testClusters()[0];
    if (!cluster) throw new Error('no test cluster');
    const { core } = clients(cluster);
    const node = (await core.listNode()).items[0]?.metadata?.name;
    if (!node) throw new Error(`no node in ${cluster.name}`);
    const labelsOf = async () => (await core.readNode({ name: node })).metadata?.labels ?? {};
    const before = await labelsOf();
    expect(before[runtimeNodeLabel('gvisor')]).toBeUndefined();
    const { kubectl } = await resolveBinaries(['kubectl'], { env: { ...process.env, INFRA_HOME: testEnvironment().infraHome } });
    const admin = `'${kubectl.path}' --kubeconfig='${cluster.kubeconfig}'`;
    const add = nodeLabelStep(admin, node, addons(['gvisor']));
    const drop = nodeLabelStep(admin, node, addons(['kata']));
    try {
      expect((await runSteps(localShell, [add], { readLocal })).mutations).toBe(1);
      expect((await labelsOf())[runtimeNodeLabel('gvisor')]).toBe('true');
      expect((await runSteps(localShell, [add], { readLocal })).mutations).toBe(0);

      expect((await runSteps(localShell, [drop], { readLocal })).mutations).toBe(1);
      const after = await labelsOf();
      expect(after[runtimeNodeLabel('gvisor')]).toBeUndefined();
      expect(runtimeNodeLabel('kata') in after).toBe(false);
      // Nothing else of the Node's labels moved.
      expect(after).toEqual(before);
      expect((await runSteps(localShell, [drop], { readLocal })).mutations).toBe(0);
    } finally {
      spawnSync('sh', ['-c', `${admin} label node ${node} ${runtimeNodeLabel('gvisor')}- >/dev/null 2>&1`]);
    }
  });
});
