import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCommand } from '../../clusters/host/command.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { cacheBinDir } from '../../clusters/tools/resolver.ts';
import { binariesStack, mutationLines, type BinariesStackFixture } from '../harness/binaries-stack.ts';
import { runInfra } from '../harness/cli.ts';
import { runOnHost, startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

/**
 * `infra up` of a `kubernetes` cluster with `bootstrap: kubeadm` on real SSH hosts
 * (systemd-nspawn): `kubeadm init` on the control plane and `kubeadm join` on a worker, run as
 * the distribution's steps over the SSH layer as a non-root sudo user, with the control-plane
 * images built here from the pinned binaries and imported with ctr (the hosts have no registry).
 */

let hosts: TestHost[];
let fx: BinariesStackFixture;
const KUBECTL = join(cacheBinDir(), 'kubectl-v1.34.4', 'kubectl');

const kubectl = async (...args: string[]) => {
  const r = await runCommand(KUBECTL, [`--kubeconfig=${clusterLayout('kadm', fx.env).kubeconfig}`, ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** On failure, what the hosts say (kubelet and containerd journals): the error must show why. */
async function explain(err: unknown): Promise<never> {
  const journals = await Promise.all(hosts.map((h) => runOnHost(h, ['sh', '-c', 'journalctl -u kubelet -u containerd --no-pager -n 30 | cut -c1-300']).catch((e: Error) => e.message)));
  throw new Error(`${(err as Error).message}\n${journals.join('\n---\n')}`);
}

beforeAll(async () => {
  hosts = await startTestHosts({ count: 2, prefix: 'kadm' });
  fx = await binariesStack(hosts, { cluster: 'kadm', controlPlanes: 1, user: 'alice' });
  const stack = parse(await readFile(fx.stackFile, 'utf8'));
  stack.clusters[0].bootstrap = 'kubeadm';
  await writeFile(fx.stackFile, stringify(stack));
}, 600_000);

afterAll(async () => {
  await stopTestHosts();
});

describe('kubeadm distribution on SSH hosts (bootstrap: kubeadm)', () => {
  it('infra up: kubeadm init on the control plane, join on the worker, nodes Ready', async () => {
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    if (up.code !== 0) await explain(new Error(`${up.stdout}\n${up.stderr}`));
    // Both hosts were changed (init, join), each journalled.
    expect((await mutationLines(fx.infraHome)).map((l) => l.split(' ').slice(1, 3).join(' ')).sort()).toEqual(hosts.map((h) => `${h.name} kubeadm`));
    // The control plane runs as kubeadm's static Pods, from the images infra built and imported.
    const images = await runOnHost(hosts[0]!, ['ctr', '-n', 'k8s.io', 'images', 'ls', '-q']);
    for (const name of ['kube-apiserver:v1.34.4', 'kube-controller-manager:v1.34.4', 'kube-scheduler:v1.34.4', 'etcd:3.6.16-0', 'pause:3.10.1']) expect(images).toContain(`infra.local/k8s/${name}`);
    await kubectl('wait', '--for=condition=Ready', 'node', '--all', '--timeout=180s').catch(explain);
    const nodes = await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}');
    expect(nodes.trim().split('\n').sort()).toEqual(hosts.map((h) => `${h.name}=True`));
    const staticPods = await kubectl('get', 'pods', '-n', 'kube-system', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\\n"}{end}');
    expect(staticPods.trim().split('\n').sort()).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((p) => `${p}-${hosts[0]!.name}=Running`));
  }, 900_000);

  it('runs a Pod on the worker as a real process, with an address of the bridge CNI', async () => {
    const manifest = join(fx.dir, 'sleeper.json');
    await writeFile(manifest, JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sleeper', namespace: 'default' },
      spec: { nodeName: hosts[1]!.name, containers: [{ name: 'sleeper', image: 'infra.local/pause:1', imagePullPolicy: 'Never' }] },
    }));
    await kubectl('apply', '-f', manifest);
    await kubectl('wait', '--for=condition=Ready', 'pod/sleeper', '--timeout=120s').catch(explain);
    expect(await kubectl('get', 'pod', 'sleeper', '-o', 'jsonpath={.status.phase}')).toBe('Running');
    // The worker is the second node of the cluster: its Pod range is 10.244.2.0/24.
    expect(await kubectl('get', 'pod', 'sleeper', '-o', 'jsonpath={.status.podIP}')).toMatch(/^10\.244\.2\./);
    expect(Number((await runOnHost(hosts[1]!, ['sh', '-c', 'pgrep -c -x pause || true'])).trim())).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('a second up changes nothing and runs no mutating command on any host', async () => {
    const before = await mutationLines(fx.infraHome);
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(await mutationLines(fx.infraHome)).toEqual(before);
    expect(up.stdout + up.stderr).not.toMatch(/update|create/i);
  }, 600_000);
});
