import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { cacheBinDir } from '../../clusters/tools/resolver.ts';
import { join } from 'node:path';
import { binariesStack, writeStack, type BinariesStackFixture } from '../harness/binaries-stack.ts';
import { runInfra } from '../harness/cli.ts';
import { killHost, restartHost, runOnHost, startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

/** Three etcd members on three control-plane hosts and one worker; losing and removing a member. */

let hosts: TestHost[];
let fx: BinariesStackFixture;
const KUBECTL = join(cacheBinDir(), 'kubectl-v1.34.4', 'kubectl');
const kubectl = async (...args: string[]) => {
  const r = await runCommand(KUBECTL, [`--kubeconfig=${clusterLayout('ha', fx.env).kubeconfig}`, '--request-timeout=20s', ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const etcdctl = (on: TestHost, ...args: string[]) => {
  const pki = '/etc/kubernetes/pki';
  return runOnHost(on, ['/usr/local/bin/etcdctl', `--endpoints=https://${on.address}:2379`, `--cacert=${pki}/ca.crt`, `--cert=${pki}/apiserver-etcd-client.crt`, `--key=${pki}/apiserver-etcd-client.key`, ...args]);
};
const etcdMembers = async (on: TestHost) => {
  const out = await etcdctl(on, 'member', 'list', '-w', 'json');
  return ((JSON.parse(out) as { members: { name: string }[] }).members ?? []).map((m) => m.name).sort();
};

beforeAll(async () => {
  hosts = await startTestHosts({ count: 4, prefix: 'ha' });
  fx = await binariesStack(hosts, { cluster: 'ha', controlPlanes: 3, user: 'root' });
}, 600_000);

afterAll(async () => {
  await stopTestHosts();
});

describe('three control planes', () => {
  it('come up as three etcd members with the worker Ready', async () => {
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(await etcdMembers(hosts[0]!)).toEqual(['ha-1', 'ha-2', 'ha-3']);
    expect(await kubectl('get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}')).toBe('ha-4');
  }, 900_000);

  it('survive the loss of one control-plane host', async () => {
    await killHost(hosts[2]!);
    // If the lost host led etcd, the two left elect a new leader first: writes fail until then.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await kubectl('create', 'configmap', 'after-loss', '--from-literal=ok=yes').then(() => undefined, (e: Error) => e);
      if (!r) break;
      if (Date.now() > deadline || !/timed out|leader|unavailable|already exists/.test(r.message)) throw r;
      if (/already exists/.test(r.message)) break;
    }
    expect(await kubectl('get', 'configmap', 'after-loss', '-o', 'jsonpath={.data.ok}')).toBe('yes');
  }, 120_000);

  it('refuse to remove a healthy member while another is down (the majority would be lost)', async () => {
    const [cp1, cp2, cp3, w] = hosts as [TestHost, TestHost, TestHost, TestHost];
    await writeStack(fx.stackFile, [cp1, cp3, w], 'ha', 2, 'root');
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code).not.toBe(0);
    expect(up.stdout + up.stderr).toMatch(/refusing to remove ha-2/);
    expect(await etcdMembers(cp1)).toEqual(['ha-1', 'ha-2', 'ha-3']);
    void cp2;
  }, 900_000);

  it('remove the lost member when it leaves the stack (the two left are a healthy majority)', async () => {
    const [cp1, cp2, , w] = hosts as [TestHost, TestHost, TestHost, TestHost];
    await writeStack(fx.stackFile, [cp1, cp2, w], 'ha', 2, 'root');
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(await etcdMembers(cp1)).toEqual(['ha-1', 'ha-2']);
    expect(await kubectl('get', 'configmap', 'after-loss', '-o', 'jsonpath={.data.ok}')).toBe('yes');
  }, 900_000);

  it('take the removed control-plane host back: its old etcd data wiped, added as a member, serving', async () => {
    const [cp1, cp2, cp3, w] = hosts as [TestHost, TestHost, TestHost, TestHost];
    // The host comes back with its old etcd data (a removed member's): that data must not rejoin.
    await restartHost(cp3);
    await writeStack(fx.stackFile, [cp1, cp2, cp3, w], 'ha', 3, 'root');
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(await etcdMembers(cp1)).toEqual(['ha-1', 'ha-2', 'ha-3']);
    const health = JSON.parse(await etcdctl(cp1, 'endpoint', 'health', '--cluster', '-w', 'json')) as { endpoint: string; health: boolean }[];
    expect(health.filter((h) => h.health).map((h) => h.endpoint).sort()).toEqual([cp1, cp2, cp3].map((h) => `https://${h.address}:2379`).sort());
    // ha-3's own etcd serves the cluster's data (written while it was gone), its apiserver answers.
    expect(await runOnHost(cp3, ['/usr/local/bin/kubectl', '--kubeconfig=/etc/kubernetes/admin.kubeconfig', 'get', 'configmap', 'after-loss', '-o', 'jsonpath={.data.ok}']).then((o) => o.trim())).toBe('yes');
    expect(await runOnHost(cp3, ['/usr/local/bin/kubectl', '--kubeconfig=/etc/kubernetes/admin.kubeconfig', 'get', '--raw=/readyz']).then((o) => o.trim())).toBe('ok');
    expect(await runOnHost(cp3, ['sh', '-c', 'test -e /etc/kubernetes/etcd-join.env && echo left || echo gone']).then((o) => o.trim())).toBe('gone');
    expect(await kubectl('get', 'node', 'ha-4', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')).toBe('True');
    // A second up finds the joined member as wanted.
    const again = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(await etcdMembers(cp1)).toEqual(['ha-1', 'ha-2', 'ha-3']);
  }, 900_000);
});
