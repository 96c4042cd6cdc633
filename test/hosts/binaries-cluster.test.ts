import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { cacheBinDir } from '../../clusters/tools/resolver.ts';
import { binariesStack, mutationLines, writeStack, type BinariesStackFixture } from '../harness/binaries-stack.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { runInfra } from '../harness/cli.ts';
import { cutLink, restoreLink, runOnHost, startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

/**
 * `infra up` of a `kubernetes` cluster on real SSH hosts (systemd-nspawn): 1 control plane and
 * 2 workers running a real kubelet with containerd and runc, a non-root sudo user, airgapped.
 */

let hosts: TestHost[];
let fx: BinariesStackFixture;
const KUBECTL = join(cacheBinDir(), 'kubectl-v1.34.4', 'kubectl');

const kubectl = async (...args: string[]) => {
  const r = await runCommand(KUBECTL, [`--kubeconfig=${clusterLayout('lab', fx.env).kubeconfig}`, ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(async () => {
  hosts = await startTestHosts({ count: 3, prefix: 'bin' });
  fx = await binariesStack(hosts, { cluster: 'lab', controlPlanes: 1, user: 'alice' });
}, 600_000);

afterAll(async () => {
  await stopTestHosts();
});

describe('binaries distribution on SSH hosts', () => {
  it('brings up 1 control plane + 2 workers as a non-root sudo user: kubeconfig works, nodes Ready', async () => {
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    const nodes = await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}');
    expect(nodes.trim().split('\n').sort()).toEqual(['bin-2=True', 'bin-3=True']);
  }, 900_000);

  it('runs a Deployment’s pods as real processes on the workers', async () => {
    // The hosts have no registry: the image is the pause image infra imported on every node.
    const manifest = join(fx.dir, 'sleeper.json');
    await writeFile(manifest, JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'sleeper', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'sleeper' } }, template: { metadata: { labels: { app: 'sleeper' } }, spec: { containers: [{ name: 'sleeper', image: 'infra.local/pause:1', imagePullPolicy: 'Never' }] } } },
    }));
    await kubectl('apply', '-f', manifest);
    try {
      await kubectl('rollout', 'status', 'deployment/sleeper', '--timeout=120s');
    } catch (err) {
      // Say why: the pods' events and the kubelets' last lines.
      const pods = await kubectl('describe', 'pods', '-l', 'app=sleeper').catch((e: Error) => e.message);
      const journals = await Promise.all(hosts.slice(1).map((h) => runOnHost(h, ['sh', '-c', 'journalctl -u kubelet -u containerd --no-pager -n 25 | cut -c1-400']).catch((e: Error) => e.message)));
      throw new Error(`${(err as Error).message}\n${pods.split('\n').slice(-25).join('\n')}\n${journals.join('\n---\n')}`);
    }
    const phases = await kubectl('get', 'pods', '-l', 'app=sleeper', '-o', 'jsonpath={.items[*].status.phase}');
    expect(phases.split(' ')).toEqual(['Running', 'Running']);
    const processes = await Promise.all(hosts.slice(1).map((h) => runOnHost(h, ['sh', '-c', 'pgrep -c -x pause || true'])));
    // Each running pod is a sandbox pause plus the container's pause: real processes under runc.
    expect(processes.reduce((n, p) => n + Number(p.trim()), 0)).toBeGreaterThanOrEqual(4);
  }, 300_000);

  it('a second up changes nothing and runs no mutating command on any host', async () => {
    const before = await mutationLines(fx.infraHome);
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(await mutationLines(fx.infraHome)).toEqual(before);
    expect(up.stdout + up.stderr).not.toMatch(/update|create/i);
  }, 600_000);
});

describe('the stack’s apps', () => {
  it('reconcile onto the cluster through the kubeconfig the cluster resource wrote', async () => {
    const repo = await GitFixture.create();
    try {
      await repo.commit({ 'app/config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-git, namespace: default}\ndata: {greeting: hello}\n' });
      await writeStack(fx.stackFile, hosts, 'lab', 1, 'alice', {
        sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' } }],
        apps: [{ name: 'greeting', source: 'repo', path: 'app', targets: { selector: { matchLabels: { where: 'lab' } } }, timeout: '60s' }],
      });
      const up = await runInfra(['up', '-f', fx.stackFile], fx.env);
      expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
      expect(await kubectl('get', 'configmap', 'from-git', '-o', 'jsonpath={.data.greeting}')).toBe('hello');
    } finally {
      await repo.remove();
    }
  }, 600_000);
});

describe('a host that cannot be reached', () => {
  it('fails up naming the host while the others are repaired; the next up resumes', async () => {
    const [, drifted, lost] = hosts as [TestHost, TestHost, TestHost];
    await runOnHost(drifted, ['systemctl', 'stop', 'kubelet']);
    await runOnHost(drifted, ['sh', '-c', 'echo "# changed by hand" >> /etc/containerd/config.toml']);
    // preview names the steps up would run on that host, in their order, and no other host.
    const preview = await runInfra(['preview', '-f', fx.stackFile], fx.env);
    expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
    const planned = preview.stdout.split('\n').filter((l) => /^\s+[~+-]/.test(l));
    expect(planned).toEqual([`  ~ ClusterNode node:lab:${drifted.name}  update: write /etc/containerd/config.toml (drifted), restart containerd, start kubelet (drifted)`]);
    await cutLink(lost);
    const failed = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    // The SSH layer's exit code, through the engine; the one line names the host.
    expect(failed.code, `${failed.stdout}\n${failed.stderr}`).toBe(20);
    expect(failed.stderr.split('\n').find((l) => l.startsWith('error: '))).toContain(`host ${lost.name}`);
    // The reachable host was repaired in the same run.
    expect((await runOnHost(drifted, ['systemctl', 'is-active', 'kubelet'])).trim()).toBe('active');
    await restoreLink(lost);
    const resumed = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
  }, 900_000);
});

describe('a host removed from the stack', () => {
  it('is drained, its Node deleted and its kubelet stopped; the rest of the cluster stays', async () => {
    const [, kept, removed] = hosts as [TestHost, TestHost, TestHost];
    await writeStack(fx.stackFile, hosts.slice(0, 2), 'lab', 1, 'alice');
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    const nodes = await kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}');
    expect(nodes.split(' ')).toEqual([kept.name]);
    expect((await runOnHost(removed, ['sh', '-c', 'systemctl is-active kubelet || true'])).trim()).toBe('inactive');
    // The Deployment's pods moved to the node left.
    await kubectl('rollout', 'status', 'deployment/sleeper', '--timeout=120s');
  }, 600_000);

  it('added back, joins again: its kubelet runs and its Node is Ready', async () => {
    const removed = hosts[2] as TestHost;
    await writeStack(fx.stackFile, hosts, 'lab', 1, 'alice');
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect((await runOnHost(removed, ['systemctl', 'is-active', 'kubelet'])).trim()).toBe('active');
    await kubectl('wait', '--for=condition=Ready', `node/${removed.name}`, '--timeout=120s');
    const nodes = await kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}');
    expect(nodes.split(' ').sort()).toEqual(hosts.slice(1).map((h) => h.name).sort());
  }, 600_000);
});
