import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { kubeConfigFromFile } from '../../clusters/connection.ts';
import { etcdctlSnapshotSaveArgs, etcdutlRestoreArgs } from '../../clusters/etcd/etcd-commands.ts';
import { runCommand } from '../../clusters/host/command.ts';
import { requireState } from '../../clusters/local/cluster-files.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { stopControlPlane } from '../../clusters/local/local-cluster.ts';
import { resolveBinary } from '../../clusters/tools/resolver.ts';
import { runInfra } from '../harness/cli.ts';

/**
 * `node test/bench/etcd-bench.ts [objects] [rounds]`: `infra etcd snapshot|restore` on a local
 * cluster holding `objects` ConfigMaps (1 KiB each), next to the bare steps by hand in the same
 * run: `etcdctl snapshot save` with the same flags; `etcdutl snapshot restore` + stop + rename
 * + `infra local up`; and the CLI's start alone (`infra local list`). Prints JSON lines.
 */

const objects = Number(process.argv[2] ?? '1000');
const rounds = Number(process.argv[3] ?? '3');
const home = await mkdtemp(join(tmpdir(), 'infra-etcd-bench-'));
const env = { ...process.env, INFRA_HOME: home };
const name = 'bench';
const ms = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return Math.round(performance.now() - t);
};
const must = (r: { code: number | null; stderr: string }) => {
  if (r.code !== 0) throw new Error(r.stderr);
};

try {
  must(await runInfra(['local', 'up', name, '--nodes', '1'], env));
  const layout = clusterLayout(name, env);
  const state = await requireState(layout);
  const core = kubeConfigFromFile(layout.kubeconfig).makeApiClient(CoreV1Api);
  const payload = 'x'.repeat(1024);
  for (let i = 0; i < objects; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, objects - i) }, (_, j) => core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `b-${i + j}` }, data: { payload } } })));
  }
  const etcdctl = (await resolveBinary('etcdctl', { env })).path;
  const etcdutl = (await resolveBinary('etcdutl', { env })).path;
  const tls = { caFile: join(layout.pkiDir, 'ca.crt'), certFile: join(layout.pkiDir, 'apiserver-etcd-client.crt'), keyFile: join(layout.pkiDir, 'apiserver-etcd-client.key') };
  const file = join(home, 'snap.db');
  for (let round = 1; round <= rounds; round++) {
    // The CLI's own start (Node, TypeScript, imports), which every `infra` command pays.
    const cliStart = await ms(async () => must(await runInfra(['local', 'list'], env)));
    const bareSave = await ms(async () => {
      const r = await runCommand(etcdctl, etcdctlSnapshotSaveArgs(`https://127.0.0.1:${state.ports.etcdClient}`, tls, join(home, 'bare.db')));
      if (r.code !== 0) throw new Error(r.stderr);
    });
    const save = await ms(async () => must(await runInfra(['etcd', 'snapshot', name, '-o', file], env)));
    const bareRestore = await ms(async () => {
      const fresh = `${layout.etcdDataDir}.bare`;
      await rm(fresh, { recursive: true, force: true });
      const r = await runCommand(etcdutl, etcdutlRestoreArgs(join(home, 'bare.db'), fresh, { name, peerUrl: `https://127.0.0.1:${state.ports.etcdPeer}` }));
      if (r.code !== 0) throw new Error(r.stderr);
      await stopControlPlane(layout);
      await rm(layout.etcdDataDir, { recursive: true, force: true });
      await rename(fresh, layout.etcdDataDir);
      must(await runInfra(['local', 'up', name], env));
    });
    const restore = await ms(async () => must(await runInfra(['etcd', 'restore', name, file], env)));
    process.stdout.write(`${JSON.stringify({ round, objects, cliStartMs: cliStart, snapshotMs: save, bareSnapshotMs: bareSave, restoreMs: restore, bareRestoreMs: bareRestore })}\n`);
  }
} finally {
  await runInfra(['local', 'down', name, '--purge'], env);
  await rm(home, { recursive: true, force: true });
}
