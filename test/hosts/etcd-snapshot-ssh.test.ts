import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheBinDir } from '../../clusters/tools/resolver.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { REMOTE_PATHS } from '../../modules/distributions/binaries/etcd-snapshot/remote-etcd-plan.ts';
import { binariesStack, type BinariesStackFixture } from '../harness/binaries-stack.ts';
import { runInfra } from '../harness/cli.ts';
import { runOnHost, startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

/**
 * etcd snapshot and restore of a `binaries` cluster over SSH, on real test hosts: the cluster made
 * by `infra up` (as the sudo user alice), objects made, snapshotted, deleted and made anew, then
 * restored: back as they were at the snapshot. Once with 1 control plane + 1 worker, once with 3
 * etcd members (3 control-plane hosts, which are the nodes too): every member restores the same
 * snapshot with the full initial cluster, the swap happens on all, and etcd comes back with quorum.
 */

const KUBECTL = join(cacheBinDir(), 'kubectl-v1.34.4', 'kubectl');

interface Shape {
  readonly cluster: string;
  readonly prefix: string;
  readonly hosts: number;
  readonly controlPlanes: number;
}

function snapshotRestoreSuite(shape: Shape): void {
  const CLUSTER = shape.cluster;
  let hosts: TestHost[];
  let fx: BinariesStackFixture;

  const kubectl = async (...args: string[]) => {
    const r = await runCommand(KUBECTL, [`--kubeconfig=${clusterLayout(CLUSTER, fx.env).kubeconfig}`, ...args]);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const configMaps = async () => (await kubectl('get', 'configmaps', '-o', 'jsonpath={.items[*].metadata.name}')).split(' ').filter((n) => n.startsWith('t-')).sort();

  describe(`infra etcd snapshot|restore of a binaries cluster over SSH with ${shape.controlPlanes} etcd member(s)`, () => {
    beforeAll(async () => {
      hosts = await startTestHosts({ count: shape.hosts, prefix: shape.prefix });
      fx = await binariesStack(hosts, { cluster: CLUSTER, controlPlanes: shape.controlPlanes, user: 'alice' });
      const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
      expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    }, 900_000);

    afterAll(async () => {
      await stopTestHosts();
    });

    it('objects deleted after the snapshot are back after the restore; objects made after it are gone; nothing is left on the hosts', async () => {
      const members = hosts.slice(0, shape.controlPlanes);
      // As a user runs it: the stack names the hosts, ssh config and known_hosts say how to reach them.
      const env = { ...fx.env, INFRA_SSH_KNOWN_HOSTS: hosts[0]!.knownHostsPath };
      await kubectl('create', 'configmap', 't-before', '--from-literal=k=v');
      const file = join(fx.dir, 'snap.db');
      const snap = await runInfra(['etcd', 'snapshot', CLUSTER, '-f', fx.stackFile, '-o', file, '--json'], env);
      expect(snap.code, snap.stderr).toBe(0);
      const saved = JSON.parse(snap.stdout) as { host: string; file: string; revision: number; totalKeys: number };
      expect(saved).toMatchObject({ cluster: CLUSTER, host: hosts[0]!.name, file });
      expect(saved.totalKeys).toBeGreaterThan(0);
      expect((await stat(file)).mode & 0o777).toBe(0o600);

      await kubectl('delete', 'configmap', 't-before');
      await kubectl('create', 'configmap', 't-after', '--from-literal=k=v');
      expect(await configMaps()).toEqual(['t-after']);

      const restore = await runInfra(['etcd', 'restore', CLUSTER, file, '-f', fx.stackFile, '--json'], env);
      expect(restore.code, restore.stderr).toBe(0);
      expect(JSON.parse(restore.stdout)).toMatchObject({ cluster: CLUSTER, revision: saved.revision, members: members.map((h) => h.name) });
      expect(await configMaps()).toEqual(['t-before']);
      // Writes work on the restored data, nodes come back Ready, and the restore left nothing behind on the hosts.
      await kubectl('create', 'configmap', 't-later', '--from-literal=k=v');
      expect(await configMaps()).toEqual(['t-before', 't-later']);
      await kubectl('wait', '--for=condition=Ready', 'node', '--all', '--timeout=120s');
      for (const h of members) {
        const leftovers = await runOnHost(h, ['sh', '-c', 'for p in "$@"; do [ -e "$p" ] && echo "$p"; done; true', 'sh', REMOTE_PATHS.old, REMOTE_PATHS.fresh, REMOTE_PATHS.journal, `${REMOTE_PATHS.work}/restore.db`]);
        expect({ host: h.name, leftovers: leftovers.trim() }).toEqual({ host: h.name, leftovers: '' });
      }
    }, 600_000);
  });
}

snapshotRestoreSuite({ cluster: 'snap', prefix: 'snp', hosts: 2, controlPlanes: 1 });
snapshotRestoreSuite({ cluster: 'snap3', prefix: 'ha', hosts: 3, controlPlanes: 3 });
