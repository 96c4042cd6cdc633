import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFromFile } from '../../clusters/connection.ts';
import { etcdutlRestoreArgs } from '../../clusters/etcd/etcd-commands.ts';
import { runCommand } from '../../clusters/host/command.ts';
import { requireState } from '../../clusters/local/cluster-files.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { stopControlPlane } from '../../clusters/local/local-cluster.ts';
import { restorePaths, writeJournal } from '../../clusters/local/restore-state.ts';
import { resolveBinary } from '../../clusters/tools/resolver.ts';
import { runInfra, startInfra } from '../harness/cli.ts';
import { waitFor } from '../../clusters/wait.ts';
import { readJournal } from '../../clusters/local/restore-state.ts';

/**
 * `infra etcd snapshot|restore` on a real local cluster of its own (a restore stops the
 * control plane, so not one of the harness's shared clusters), run as a user runs it.
 */

const CLUSTER = 'etcd-snap';
const NS = 'default';
let home: string;
let env: NodeJS.ProcessEnv;
let core: CoreV1Api;
let kc: KubeConfig;
let snapshot: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'infra-etcd-'));
  env = { ...process.env, INFRA_HOME: home };
  const up = await runInfra(['local', 'up', CLUSTER, '--nodes', '1', '--json'], env);
  expect(up.stderr).not.toMatch(/error/);
  kc = kubeConfigFromFile(JSON.parse(up.stdout).kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  snapshot = join(home, 'backups', 'one.db');
});

afterAll(async () => {
  await runInfra(['local', 'down', CLUSTER, '--purge'], env);
  await rm(home, { recursive: true, force: true });
});

const configMap = (name: string) => ({ metadata: { name, namespace: NS }, data: { made: name } });
const names = async () => (await core.listNamespacedConfigMap({ namespace: NS })).items.map((c) => c.metadata?.name).filter((n) => n?.startsWith('t-')).sort();
const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

describe('infra etcd snapshot and restore (local cluster)', () => {
  it('objects deleted after a snapshot are back after restore, objects made after it are gone', async () => {
    await core.createNamespacedConfigMap({ namespace: NS, body: configMap('t-before') });
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 't-secret', namespace: NS }, stringData: { token: 'kept' } } });

    const snap = await runInfra(['etcd', 'snapshot', CLUSTER, '-o', snapshot, '--json'], env);
    expect(snap.stderr).not.toMatch(/error/);
    expect(snap.code).toBe(0);
    const saved = JSON.parse(snap.stdout) as { file: string; sha256: string; revision: number; totalKeys: number };
    expect(saved.file).toBe(snapshot);
    // It holds every Secret: only its owner may read it.
    expect((await stat(snapshot)).mode & 0o777).toBe(0o600);
    expect(saved.sha256).toBe(await sha256(snapshot));
    expect(await readFile(`${snapshot}.sha256`, 'utf8')).toBe(`${saved.sha256}  one.db\n`);
    expect(saved.revision).toBeGreaterThan(0);

    await core.deleteNamespacedConfigMap({ name: 't-before', namespace: NS });
    await core.deleteNamespacedSecret({ name: 't-secret', namespace: NS });
    await core.createNamespacedConfigMap({ namespace: NS, body: configMap('t-after') });
    expect(await names()).toEqual(['t-after']);

    const restore = await runInfra(['etcd', 'restore', CLUSTER, snapshot, '--json'], env);
    expect(restore.stderr).not.toMatch(/error/);
    expect(restore.code).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({ cluster: CLUSTER, revision: saved.revision, sha256: saved.sha256 });

    expect(await names()).toEqual(['t-before']);
    const secret = await core.readNamespacedSecret({ name: 't-secret', namespace: NS });
    expect(Buffer.from(secret.data?.['token'] ?? '', 'base64').toString()).toBe('kept');
    // The cluster works on the restored data (writes too), and the old data is gone.
    await core.createNamespacedConfigMap({ namespace: NS, body: configMap('t-later') });
    expect(await names()).toEqual(['t-before', 't-later']);
    const paths = restorePaths(clusterLayout(CLUSTER, env));
    expect([existsSync(paths.old), existsSync(paths.fresh), existsSync(paths.journal)]).toEqual([false, false, false]);
  });

  it('a damaged snapshot is refused before anything changes (exit 31, both sums named)', async () => {
    const damaged = join(home, 'backups', 'damaged.db');
    const bytes = await readFile(snapshot);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
    await writeFile(damaged, bytes, { mode: 0o600 });
    const expected = (await readFile(`${snapshot}.sha256`, 'utf8')).split(' ')[0] ?? '';
    await writeFile(`${damaged}.sha256`, `${expected}  damaged.db\n`);

    const r = await runInfra(['etcd', 'restore', CLUSTER, damaged], env);
    expect(r.code).toBe(31);
    expect(r.stderr).toContain(expected);
    expect(r.stderr).toContain(await sha256(damaged));
    expect(await names()).toEqual(['t-before', 't-later']);

    const noSum = await runInfra(['etcd', 'restore', CLUSTER, join(home, 'backups', 'nowhere.db')], env);
    expect(noSum.code).toBe(31);
    expect(noSum.stderr).toMatch(/no checksum file .*nowhere\.db\.sha256/);
  });

  it('a restore cut between moving the old data aside and moving the new in: `local up` finishes it instead of starting an empty etcd', async () => {
    // The state a crash there leaves: control plane stopped, restored data complete, no data dir.
    const layout = clusterLayout(CLUSTER, env);
    const state = await requireState(layout);
    const paths = restorePaths(layout);
    await core.createNamespacedConfigMap({ namespace: NS, body: configMap('t-lost') });
    await stopControlPlane(layout);
    const etcdutl = (await resolveBinary('etcdutl', { env })).path;
    const member = { name: state.name, peerUrl: `https://127.0.0.1:${state.ports.etcdPeer}` };
    expect((await runCommand(etcdutl, etcdutlRestoreArgs(snapshot, paths.fresh, member), { env })).code).toBe(0);
    await writeJournal(layout, { phase: 'restored', snapshot, sha256: await sha256(snapshot), startedAt: new Date().toISOString() }, 'restored');
    await rename(layout.etcdDataDir, paths.old);

    const up = await runInfra(['local', 'up', CLUSTER], env);
    expect(up.code).toBe(0);
    expect(up.stderr).toMatch(/finished the interrupted restore of .*one\.db/);
    expect(await names()).toEqual(['t-before']);
    expect([existsSync(paths.old), existsSync(paths.fresh), existsSync(paths.journal)]).toEqual([false, false, false]);
  });

  it('a restore cut while etcdutl was writing: `local up` rolls it back, the cluster keeps its data', async () => {
    const layout = clusterLayout(CLUSTER, env);
    const paths = restorePaths(layout);
    await core.createNamespacedConfigMap({ namespace: NS, body: configMap('t-kept') });
    await writeJournal(layout, { phase: 'restoring', snapshot, sha256: await sha256(snapshot), startedAt: new Date().toISOString() }, 'restoring');
    await runCommand('mkdir', ['-p', join(paths.fresh, 'member', 'snap')]);
    await writeFile(join(paths.fresh, 'member', 'snap', 'db'), 'half written');
    await stopControlPlane(layout);
    // The etcdutl of the killed restore, still writing: a process named etcdutl working on the new dir.
    await copyFile('/bin/sh', join(home, 'etcdutl'));
    await chmod(join(home, 'etcdutl'), 0o755);
    const orphan = spawn(join(home, 'etcdutl'), ['-c', 'sleep 600', 'etcdutl', paths.fresh], { stdio: 'ignore' });
    const orphanExit = new Promise((resolve) => orphan.once('exit', resolve));

    const up = await runInfra(['local', 'up', CLUSTER], env);
    expect(up.code).toBe(0);
    expect(up.stderr).toMatch(/stopped 1 etcdutl left by an interrupted restore/);
    await orphanExit;
    expect(up.stderr).toMatch(/rolled back the interrupted restore/);
    expect(await names()).toEqual(['t-before', 't-kept']);
    expect([existsSync(paths.old), existsSync(paths.fresh), existsSync(paths.journal)]).toEqual([false, false, false]);
  });

  it('a restore SIGKILLed once the new data is complete: the next `local up` ends on the snapshot, with nothing left over', async () => {
    const layout = clusterLayout(CLUSTER, env);
    const paths = restorePaths(layout);
    await core.createNamespacedConfigMap({ namespace: NS, body: configMap('t-killed') });
    const child = startInfra(['etcd', 'restore', CLUSTER, snapshot], env);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Killed wherever it is once the journal says `restored` (stopping, swapping or starting).
    const reached = await waitFor(async () => ((await readJournal(layout))?.phase === 'restored' ? true : undefined), { timeoutMs: 60_000, intervalMs: 5 });
    expect(reached).toBe(true);
    child.kill('SIGKILL');
    await exited;

    const up = await runInfra(['local', 'up', CLUSTER], env);
    expect(up.stderr).not.toMatch(/error/);
    expect(up.code).toBe(0);
    expect(await names()).toEqual(['t-before']);
    expect([existsSync(paths.old), existsSync(paths.fresh), existsSync(paths.journal)]).toEqual([false, false, false]);
  });
});
