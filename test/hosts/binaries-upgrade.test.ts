import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { cacheBinDir } from '../../clusters/tools/resolver.ts';
import { binariesStack, mutationLines, writeStack, type BinariesStackFixture } from '../harness/binaries-stack.ts';
import { runInfra } from '../harness/cli.ts';
import { runOnHost, startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

/**
 * A version change of a `binaries` cluster on real SSH hosts (1 control plane + 2 workers):
 * 1.34.3 → 1.34.4 rolls the control plane, then one worker at a time; a worker that fails stops
 * the roll with host and step named and the worker after it untouched; the next `up` resumes.
 * Workers roll in the order the engine sends their updates, so both are broken and the test
 * follows whichever the roll reached first.
 */

let hosts: TestHost[];
let fx: BinariesStackFixture;
const KUBECTL = join(cacheBinDir(), 'kubectl-v1.34.4', 'kubectl');
const BROKEN = '/etc/systemd/system/kubelet.service.d/10-broken.conf';
/** An apiserver away longer than the node-monitor grace period (50 s), as on a loaded machine. */
const SLOW_APISERVER = '/etc/systemd/system/kube-apiserver.service.d/10-slow.conf';

const kubectl = async (...args: string[]) => {
  const r = await runCommand(KUBECTL, [`--kubeconfig=${clusterLayout('lab', fx.env).kubeconfig}`, ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** Each node's kubelet version and whether it is cordoned, as the API reports them. */
const nodes = async (): Promise<string[]> =>
  (await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status} {.spec.unschedulable}{"\\n"}{end}'))
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .sort();

/** For a failure message: the node's conditions as the API has them, and what its kubelet and the control plane logged. */
const nodeDiagnosis = async (h: TestHost): Promise<string> => {
  const conditions = await kubectl('get', 'node', h.name, '-o', 'jsonpath={range .status.conditions[*]}{.type}={.status} {.reason} {.lastHeartbeatTime} {.lastTransitionTime}{"\\n"}{end}').catch((e: Error) => e.message);
  const lease = await kubectl('get', 'lease', '-n', 'kube-node-lease', h.name, '-o', 'jsonpath={.spec.renewTime}').catch((e: Error) => e.message);
  const journal = (unit: string, on: TestHost) => runOnHost(on, ['journalctl', '-u', unit, '-n', '25', '--no-pager', '-o', 'short-iso']).catch((e: Error) => e.message);
  return [`node ${h.name} conditions:\n${conditions}`, `lease renewTime: ${lease}`, `now: ${new Date().toISOString()}`, `kubelet on ${h.name}:\n${await journal('kubelet', h)}`, `kube-controller-manager:\n${await journal('kube-controller-manager', hosts[0]!)}`].join('\n');
};
/**
 * Reads the nodes every 500 ms while `work` runs (reads that fail while the apiserver restarts
 * are skipped): each reading in which a worker was cordoned while another node was not Ready.
 * A roll must never drain while the nodes have not reported since a control-plane restart.
 */
async function cordonsWhileNotReady<T>(work: () => Promise<T>): Promise<{ result: T; violations: string[] }> {
  let done = false;
  const violations: string[] = [];
  const watching = (async () => {
    while (!done) {
      const rows = (await nodes().catch(() => [])).map((l) => l.split(' '));
      const notReady = rows.filter((r) => r[2] !== 'True');
      for (const c of rows.filter((r) => r[3] === 'true')) {
        const others = notReady.filter((r) => r[0] !== c[0]);
        if (others.length > 0) violations.push(`${new Date().toISOString()} ${c[0]} cordoned while ${others.map((r) => `${r[0]} Ready=${r[2]}`).join(', ')}`);
      }
      await sleep(500);
    }
  })();
  try {
    return { result: await work(), violations };
  } finally {
    done = true;
    await watching;
  }
}
const apiserverVersion = async (): Promise<string> => (JSON.parse(await kubectl('get', '--raw=/version')) as { gitVersion: string }).gitVersion;
const kubeletOnHost = async (h: TestHost): Promise<string> => (await runOnHost(h, ['/usr/local/bin/kubelet', '--version'])).trim();
/** `up`, its wall time on stderr (BENCHMARKS.md reads it). */
const up = async (what: string) => {
  const started = Date.now();
  const r = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
  process.stderr.write(`[upgrade bench] ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return r;
};
const stackAt = (version: string) => writeStack(fx.stackFile, hosts, 'lab', 1, 'alice', undefined, { version });

beforeAll(async () => {
  hosts = await startTestHosts({ count: 3, prefix: 'upg' });
  fx = await binariesStack(hosts, { cluster: 'lab', controlPlanes: 1, user: 'alice', version: '1.34.3' });
}, 600_000);

afterAll(async () => {
  await stopTestHosts();
});

describe('a version change of a binaries cluster on SSH hosts', () => {
  it('brings the cluster up at 1.34.3: the apiserver and every kubelet report it', async () => {
    const r = await up('bootstrap at 1.34.3, 3 hosts');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await apiserverVersion()).toBe('v1.34.3');
    expect(await nodes()).toEqual(['upg-2 v1.34.3 True', 'upg-3 v1.34.3 True']);
    // Pods on both workers, so each drain has something to evict.
    const manifest = join(fx.dir, 'sleeper.json');
    await writeFile(manifest, JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'sleeper', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'sleeper' } }, template: { metadata: { labels: { app: 'sleeper' } }, spec: { containers: [{ name: 'sleeper', image: 'infra.local/pause:1', imagePullPolicy: 'Never' }] } } },
    }));
    await kubectl('apply', '-f', manifest);
    await kubectl('rollout', 'status', 'deployment/sleeper', '--timeout=120s');
  }, 900_000);

  it('a worker that fails stops the roll naming host and step; the control plane is done, the worker after it untouched', async () => {
    const workers = hosts.slice(1);
    // Both kubelets would fail to start again, but only a restart shows it: the worker the roll
    // reaches first (the engine's order, not the stack's) fails, and the roll must stop there.
    for (const w of workers) await runOnHost(w, ['sh', '-c', `mkdir -p ${BROKEN.replace(/\/[^/]+$/, '')} && printf '[Service]\\nExecStartPre=/bin/false\\n' > ${BROKEN} && systemctl daemon-reload`]);
    // The control plane's restart keeps its apiserver away for over 60 s: the node monitor marks the
    // nodes Unknown, and the roll must wait until they report again before it drains a worker.
    await runOnHost(hosts[0]!, ['sh', '-c', `mkdir -p ${SLOW_APISERVER.replace(/\/[^/]+$/, '')} && printf '[Service]\\nExecStartPre=/bin/sleep 60\\n' > ${SLOW_APISERVER} && systemctl daemon-reload`]);
    await stackAt('1.34.4');
    const { result: r, violations } = await cordonsWhileNotReady(() => up('roll to 1.34.4 stopped at the broken worker (control plane + 1 worker)'));
    const out = `${r.stdout}\n${r.stderr}`;
    expect(violations, out).toEqual([]);
    expect(r.code, out).not.toBe(0);
    const stoppedAt = /the roll of cluster lab stopped at (upg-[23])/.exec(out)?.[1];
    expect(stoppedAt, out).toBeDefined();
    const failed = workers.find((w) => w.name === stoppedAt) as TestHost;
    const after = workers.find((w) => w.name !== stoppedAt) as TestHost;
    expect(out).toMatch(new RegExp(`${failed.name}[\\s\\S]*service:kubelet`));
    expect(await apiserverVersion()).toBe('v1.34.4');
    // The failed worker stays cordoned (drained before its binaries changed); the one after it was not touched.
    expect(await kubeletOnHost(failed)).toBe('Kubernetes v1.34.4');
    expect(await kubeletOnHost(after)).toBe('Kubernetes v1.34.3');
    expect((await runOnHost(after, ['systemctl', 'is-active', 'kubelet'])).trim()).toBe('active');
    const state = await nodes();
    const untouched = `${after.name} v1.34.3 True`;
    expect(state, state.includes(untouched) ? '' : await nodeDiagnosis(after)).toContainEqual(untouched);
    expect(state.find((l) => l.startsWith(`${failed.name} `))).toMatch(/ true$/);
  }, 900_000);

  it('after the fix the next up resumes: every node at 1.34.4, Ready and schedulable; the pods run', async () => {
    for (const w of hosts.slice(1)) await runOnHost(w, ['sh', '-c', `rm -f ${BROKEN} && systemctl daemon-reload`]);
    await runOnHost(hosts[0]!, ['sh', '-c', `rm -f ${SLOW_APISERVER} && systemctl daemon-reload`]);
    const r = await up('resumed roll (2 workers)');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await nodes()).toEqual(['upg-2 v1.34.4 True', 'upg-3 v1.34.4 True']);
    expect(await apiserverVersion()).toBe('v1.34.4');
    await kubectl('rollout', 'status', 'deployment/sleeper', '--timeout=120s');
  }, 900_000);

  it('a second up after the upgrade changes nothing', async () => {
    const before = await mutationLines(fx.infraHome);
    const r = await up('no-op up');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await mutationLines(fx.infraHome)).toEqual(before);
    expect(r.stdout + r.stderr).not.toMatch(/update|create/i);
  }, 600_000);
});
