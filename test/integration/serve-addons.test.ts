import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Watch } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../clusters/wait.ts';
import type { AddonFacts } from '../../modules/addons/addon.ts';
import { addonApps } from '../../modules/addons/apps.ts';
import type { BuiltinApp } from '../../reconciler/builtin-apps.ts';
import { KubeClient } from '../../clusters/kube-client.ts';
import { LeaseOwnership } from '../../reconciler/leases/lease-ownership.ts';
import { LeaseStore } from '../../reconciler/leases/lease-store.ts';
import { ShardOwnership } from '../../reconciler/leases/shard-ownership.ts';
import { ServeLog } from '../../reconciler/serve/log.ts';
import { ServeMetrics } from '../../reconciler/serve/metrics.ts';
import type { Ownership } from '../../reconciler/serve/ownership.ts';
import { ServeLoop } from '../../reconciler/serve/serve-loop.ts';
import { RECORD_LABEL, SYSTEM_NAMESPACE } from '../../reconciler/status/app-record.ts';
import type { AppStatus } from '../../reconciler/types.ts';
import { runInfra } from '../harness/cli.ts';
import { clients, testClusters } from '../harness/environment.ts';
import { createNamespace, deleteIfPresent } from '../harness/kube-admin.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { readObject } from '../harness/reconcile-helpers.ts';
import { ServeProcess } from '../harness/serve-process.ts';
import { stackFor } from '../harness/stack-fixture.ts';
import { stuckAddon } from '../harness/stuck-addon.ts';

/**
 * `infra serve` applies the stack's add-ons as apps infra owns, before the stack's apps: as a
 * process serving a stack from Git (whole-stack rounds), and in-process with one job per app (the
 * path of sharded replicas), where a user app's job waits for the add-on another job applies.
 */

const [first, second] = testClusters() as [TestCluster, TestCluster];
// One stack name for the file (the records of an app name belong to one stack per cluster).
const STACK = 'serve-addons';
const WEB = `serve-addons-web-${process.pid}`;
let repo: GitFixture;
let scratch: string;

beforeAll(async () => {
  repo = await GitFixture.create();
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: default}\ndata: {a: "1"}\n`;
  await repo.commit({ 'web/cm.yaml': cm(WEB), 'web2/cm.yaml': cm(`${WEB}-2`) });
  scratch = await mkdtemp(join(tmpdir(), 'infra-serve-addons-'));
});
afterAll(async () => {
  await repo.remove();
  await rm(scratch, { recursive: true, force: true });
});

interface Seen {
  readonly name: string;
  readonly status?: AppStatus;
}

/** ConfigMap writes on `cluster` named `names`, in the order the apiserver made them (one watch, seen to be open before this returns). */
async function watchConfigMaps(cluster: TestCluster, names: readonly string[]): Promise<{ seen: Seen[]; stop: () => void }> {
  const seen: Seen[] = [];
  const sentinel = `serve-addons-watch-${process.pid}`;
  let open = false;
  const req = await new Watch(clients(cluster).kc).watch(
    '/api/v1/configmaps',
    {},
    (type: string, obj: { metadata: { name: string }; data?: Record<string, string> }) => {
      if (obj.metadata.name === sentinel) open = true;
      if ((type !== 'ADDED' && type !== 'MODIFIED') || !names.includes(obj.metadata.name)) return;
      const status = obj.data?.['status'];
      seen.push({ name: obj.metadata.name, ...(status ? { status: JSON.parse(status) as AppStatus } : {}) });
    },
    () => undefined,
  );
  await clients(cluster).core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: sentinel } } });
  expect(await waitFor(async () => (open ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 }), 'the watch is open').toBe(true);
  return {
    seen,
    stop: () => {
      req.abort();
      void deleteIfPresent(cluster, `/api/v1/namespaces/default/configmaps/${sentinel}`);
    },
  };
}

async function metricsText(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}

describe('infra serve with add-ons', () => {
  it('applies the add-ons of a stack served from Git as apps infra owns before the stack\'s app; status, metrics and the add-on record show them; a pushed stack whose add-ons cannot work keeps the old one', { timeout: 180_000 }, async () => {
    const stackText = (cluster: Record<string, unknown>) =>
      stringify({
        apiVersion: 'infra.dev/v1alpha1',
        kind: 'Stack',
        metadata: { name: STACK },
        clusters: [{ name: first.name, kubeconfig: first.kubeconfig, ...cluster }],
        gitops: {
          sources: [{ name: 'repo', url: repo.dir, interval: '1s', driftInterval: '1h' }],
          apps: [{ name: 'web', source: 'repo', path: 'web', timeout: '60s', targets: { clusters: [first.name] } }],
        },
      });
    const served = stackText({ addons: true, cni: 'flannel', csi: 'local-path' });
    await repo.commit({ 'stacks/serve.yaml': served });
    // The bootstrap stack names the cluster and the source that holds the real stack; the same text locally, for `infra preview`.
    const bootstrap = join(scratch, 'bootstrap.yaml');
    await writeFile(bootstrap, stringify({ apiVersion: 'infra.dev/v1alpha1', kind: 'Stack', metadata: { name: STACK }, clusters: [{ name: first.name, kubeconfig: first.kubeconfig }], gitops: { sources: [{ name: 'repo', url: repo.dir, interval: '1s', driftInterval: '1h' }] } }));
    const file = join(scratch, 'stack.yaml');
    await writeFile(file, served);
    const home = join(scratch, 'home');
    const env = { ...process.env, INFRA_HOME: home, INFRA_CACHE_DIR: join(scratch, 'cache'), INFRA_OFFLINE: '1' };
    const watch = await watchConfigMaps(first, ['infra-app-addon-flannel', 'infra-app-addon-local-path', WEB]);
    const serve = ServeProcess.start(['-f', bootstrap, '--stack-from', 'repo:stacks/serve.yaml'], env);
    try {
      const base = await serve.url();
      const ready = await waitFor(async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), { timeoutMs: 120_000, intervalMs: 100 });
      expect(ready, serve.raw).toBe(true);

      // The add-ons' objects are in the cluster, labelled as infra's, in their records' inventory.
      const ds = await readObject(first, 'apps/v1', 'DaemonSet', 'kube-flannel-ds', 'kube-flannel');
      expect(ds).toMatchObject({ metadata: { labels: { 'infra.dev/app': 'addon-flannel' } } });
      const record = (await clients(first).core.readNamespacedConfigMap({ name: 'infra-app-addon-flannel', namespace: SYSTEM_NAMESPACE })).data ?? {};
      expect(JSON.stringify(record)).toContain('kube-flannel-ds');
      expect(JSON.parse(record['status'] ?? '{}')).toMatchObject({ app: 'addon-flannel', cluster: first.name, sync: 'Synced', health: 'Healthy' });

      // Before the stack's app: the apiserver saw both add-ons Synced and Healthy before web's object.
      const created = watch.seen.findIndex((s) => s.name === WEB);
      expect(created, 'web applied').toBeGreaterThan(0);
      for (const addon of ['addon-flannel', 'addon-local-path']) {
        const healthy = watch.seen.findIndex((s) => s.name === `infra-app-${addon}` && s.status?.sync === 'Synced' && s.status.health === 'Healthy');
        expect(healthy, `${addon} Synced and Healthy before web's object`).toBeGreaterThanOrEqual(0);
        expect(healthy).toBeLessThan(created);
      }

      // Metrics: a series per add-on like any app.
      const metrics = await metricsText(base);
      for (const addon of ['addon-flannel', 'addon-local-path', 'web']) {
        expect(metrics).toMatch(new RegExp(`infra_reconcile_duration_seconds_count\\{app="${addon}",cluster="${first.name}",result="synced"\\} 1`));
        expect(metrics).toMatch(new RegExp(`infra_app_last_applied_revision_info\\{app="${addon}",cluster="${first.name}",revision="[^"]+"\\} 1`));
      }

      // `infra status` reads the records serve wrote: a row per add-on and cluster.
      const st = await runInfra(['status', '-f', file], env);
      expect(st.code, st.stderr).toBe(0);
      for (const app of ['addon-flannel', 'addon-local-path', 'web']) expect(st.stdout).toMatch(new RegExp(`${app}\\s+${first.name}\\s+\\S+\\s+Synced\\s+Healthy`));

      // The record `infra preview` compares with, as after `infra reconcile`.
      const applied = JSON.parse(await readFile(join(home, 'addons', `${STACK}.json`), 'utf8')) as { addon: string; cluster: string }[];
      expect(applied.map((e) => [e.addon, e.cluster])).toEqual([['flannel', first.name], ['local-path', first.name]]);
      const pv = await runInfra(['preview', '-f', file], env);
      expect(pv.stdout).toContain('add-ons: no changes');

      // A push whose add-ons cannot work is a broken stack (path and line), as at `infra preview`: the old one keeps running.
      await repo.commit({ 'stacks/serve.yaml': stackText({ addons: true, cni: 'flannel', csi: 'local-path', podCidr: '10.96.0.0/12' }) });
      const report = await serve.waitForLog((l) => l['level'] === 'error' && String(l['msg']).includes('is broken; still serving the previous one'));
      expect(String(report['msg'])).toMatch(/clusters\[0\]\.podCidr: the pod CIDR 10\.96\.0\.0\/12 overlaps the service CIDR/);
      expect(await readObject(first, 'apps/v1', 'DaemonSet', 'kube-flannel-ds', 'kube-flannel')).toBeDefined();
    } finally {
      watch.stop();
      expect(await serve.stop('SIGTERM')).toBe(0);
    }
  });

  /** A replica that holds some shards runs one job per app, and prunes departed apps in its own job. */
  const perApp: Ownership = { owns: () => true, signal: () => undefined, ownsRemovals: () => false, release: async () => undefined };

  function loopWith(builtins: readonly BuiltinApp[], lines: string[], metrics: ServeMetrics, ownership: (loop: () => ServeLoop) => Ownership = () => perApp, cache = 'loop-cache'): ServeLoop {
    const stack = stackFor(repo.dir, [{ name: 'web', path: 'web2', namespace: 'default', targets: { clusters: [first.name, second.name] } }]);
    const slow = { ...stack, gitops: { ...stack.gitops, sources: stack.gitops.sources.map((s) => ({ ...s, intervalMs: 3_600_000, driftIntervalMs: 3_600_000 })) } };
    const loop: ServeLoop = new ServeLoop({ stack: slow, addons: { initial: builtins, of: async () => builtins }, ownership: ownership(() => loop), cacheRoot: join(scratch, cache), metrics, log: new ServeLog('json', (l) => lines.push(l)) });
    return loop;
  }

  const facts: AddonFacts = {
    cluster: first.name, path: ['clusters', 0], distribution: 'local', local: true, existing: false, podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/16',
    nodes: 2, hosts: [], cni: 'flannel', csi: 'none', runtimes: [], cilium: { kubeProxyReplacement: true, routing: 'tunnel', ipam: 'kubernetes' },
  };
  const prunedApps = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'pruned: the app left the stack').map((l) => l['app']);
  const HELD_BY_STUCK = 'DependencyNotReady: waits for app "addon-stuck" to be Synced and Healthy';
  const statusOf = (lines: readonly string[], app: string, cluster: string) =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['app'] === app && l['cluster'] === cluster && typeof l['durationMs'] === 'number').map((l) => l['msg'] as string);

  it('one job per app: the add-on is its own job, the user app\'s job waits for it on its cluster only; the removals job prunes only the add-on that left the stack', { timeout: 180_000 }, async () => {
    // An add-on that never becomes Healthy (nothing can schedule its Pod) holds web back on its cluster.
    const stuck = stuckAddon(first.name, 'serve-addons-stuck');
    const lines: string[] = [];
    const metrics = new ServeMetrics({ processMetrics: false });
    const loop = loopWith([...addonApps([facts]), stuck], lines, metrics);
    try {
      await loop.start();
      // web on the first cluster is retried until its add-on is Healthy: wait for the verdict, not for the queue.
      const held = await waitFor(async () => (statusOf(lines, 'web', first.name).some((m) => m.startsWith(HELD_BY_STUCK)) ? true : undefined), { timeoutMs: 120_000, intervalMs: 100 });
      expect(held, lines.join('')).toBe(true);
      await waitFor(async () => (statusOf(lines, 'web', second.name).length > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
      // The removals job runs after the apps' jobs (it is exclusive).
      await waitFor(async () => (prunedApps(lines).length > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
    } finally {
      await loop.stop();
    }
    const runs = new Map((await metrics.reconcileRuns.get()).values.map((v) => [v.labels['app'], v.value] as const));
    expect(runs.get('addon-flannel'), 'the add-on ran as its own job').toBeGreaterThanOrEqual(1);
    expect(runs.get('addon-stuck')).toBeGreaterThanOrEqual(1);
    expect(statusOf(lines, 'addon-flannel', first.name)).toContain('Synced, Healthy');
    // Held back by an add-on each time (addon-flannel too, when web's job ran before the add-ons' job was done).
    expect(statusOf(lines, 'web', first.name).every((m) => m.startsWith('DependencyNotReady: waits for app "addon-'))).toBe(true);
    // Elsewhere it syncs (once per attempt: the job is retried for the first cluster).
    expect([...new Set(statusOf(lines, 'web', second.name))]).toEqual(['Synced, Healthy']);
    expect(await readObject(first, 'v1', 'ConfigMap', `${WEB}-2`, 'default'), 'nothing of web applied where its add-on is not Healthy').toBeUndefined();
    expect(await readObject(second, 'v1', 'ConfigMap', `${WEB}-2`, 'default')).toBeDefined();
    // The removals job knows the add-ons: the one that left (local-path, of the first test) is pruned, the others are not.
    expect(prunedApps(lines)).toEqual(['addon-local-path']);
    expect(await readObject(first, 'apps/v1', 'Deployment', 'local-path-provisioner', 'local-path-storage')).toBeUndefined();
    expect(await readObject(first, 'apps/v1', 'DaemonSet', 'kube-flannel-ds', 'kube-flannel')).toMatchObject({ metadata: { labels: { 'infra.dev/app': 'addon-flannel' } } });
    const records = await clients(first).core.listNamespacedConfigMap({ namespace: SYSTEM_NAMESPACE, labelSelector: `${RECORD_LABEL}=app` });
    expect(records.items.map((r) => r.metadata?.name)).toEqual(expect.arrayContaining(['infra-app-addon-flannel', 'infra-app-addon-stuck']));
  });

  it('one job per app: once its add-ons are Healthy the user app\'s job applies it; the add-on that left the stack is pruned by the removals job', { timeout: 120_000 }, async () => {
    const lines: string[] = [];
    const metrics = new ServeMetrics({ processMetrics: false });
    const loop = loopWith(addonApps([facts]), lines, metrics);
    try {
      await loop.start();
      const synced = await waitFor(async () => (statusOf(lines, 'web', first.name).includes('Synced, Healthy') ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
      expect(synced, lines.join('')).toBe(true);
      await waitFor(async () => (prunedApps(lines).length > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
    } finally {
      await loop.stop();
    }
    expect(await readObject(first, 'v1', 'ConfigMap', `${WEB}-2`, 'default')).toBeDefined();
    expect(prunedApps(lines)).toEqual(['addon-stuck']);
    expect(await readObject(first, 'apps/v1', 'Deployment', 'serve-addons-stuck', 'default')).toBeUndefined();
    expect(statusOf(lines, 'addon-flannel', first.name)).toContain('Synced, Healthy');
  });

  it('replicas sharded by Leases: each app is reconciled only by the replica holding its shard at that moment, and the user app waiting for the add-on syncs', { timeout: 120_000 }, async () => {
    const namespace = await createNamespace(second, `serve-addons-leases-${process.pid}`);
    const management = new KubeClient(second.name, second.kubeconfig);
    const SHARDS = 4;
    const replicas = ['replica-a', 'replica-b'].map((identity) => {
      const lines: string[] = [];
      // The replica's lease events go in the same list as its serve log, in the order they happened:
      // "acquired" right after a hold is written, "lost" the moment it is dropped (or handed back).
      const leaseLog = (level: string, msg: string, fields?: Readonly<Record<string, string | number | boolean>>) => lines.push(`${JSON.stringify({ msg: `lease: ${msg}`, level, ...fields })}\n`);
      const shards = new ShardOwnership({ store: new LeaseStore(management, namespace), identity, shardCount: SHARDS, timing: { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000 }, log: leaseLog });
      const metrics = new ServeMetrics({ processMetrics: false });
      const loop = loopWith(addonApps([facts]), lines, metrics, (served) => new LeaseOwnership(shards, () => served().appNames()), `cache-${identity}`);
      return { identity, shards, lines, metrics, loop };
    });
    const timeline = () => replicas.map((r) => `${r.identity}:\n${r.lines.join('')}`).join('\n');
    try {
      await Promise.all(replicas.map((r) => r.shards.start()));
      // Each holds its fair share before serving: no whole-stack round, one job per owned app.
      const split = await waitFor(async () => (replicas.every((r) => r.shards.held().length === SHARDS / 2) ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 });
      expect(split).toBe(true);
      // Shards were gained before the loops start: the first round covers them, nothing runs before it.
      for (const r of replicas) r.lines.push(`${JSON.stringify({ msg: 'test: loop starts' })}\n`);
      await Promise.all(replicas.map((r) => r.loop.start()));
      const done = await waitFor(async () => (replicas.some((r) => statusOf(r.lines, 'web', first.name).includes('Synced, Healthy')) ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
      expect(done, timeline()).toBe(true);
    } finally {
      await Promise.all(replicas.map((r) => r.loop.stop()));
      management.close();
      await deleteIfPresent(second, `/api/v1/namespaces/${namespace}`);
    }
    // Replay each replica's log: every round it started ran while it held the shard of each app in it
    // (a shard may move when a renewal misses its deadline on a loaded machine; the other replica then
    // reconciles the app, which is right, so the check is per moment, not per test).
    const held = (r: (typeof replicas)[number]) => {
      const now = new Set<number>();
      const rounds: { app: string; holds: boolean }[] = [];
      let started = false;
      for (const l of r.lines.map((x) => JSON.parse(x) as Record<string, unknown>)) {
        const msg = String(l['msg']);
        if (msg === 'test: loop starts') started = true;
        else if (msg.startsWith('lease: ') && typeof l['shard'] === 'number') {
          if (/^lease: shard \d+: acquired/.test(msg)) now.add(l['shard']);
          if (/^lease: shard \d+: lost/.test(msg)) now.delete(l['shard']);
        } else if (msg.startsWith('reconciling every app')) {
          rounds.push({ app: '(stack)', holds: started && now.size === SHARDS });
        } else if (msg.startsWith('reconciling (') && typeof l['app'] === 'string') {
          rounds.push({ app: l['app'], holds: started && now.has(r.shards.shardOf(l['app'])) });
        }
      }
      return rounds;
    };
    const rounds = replicas.map((r) => ({ identity: r.identity, rounds: held(r) }));
    for (const { identity, rounds: rs } of rounds) {
      expect(rs.filter((x) => !x.holds).map((x) => x.app), `${identity} reconciled an app before its loop started or whose shard it did not hold\n${timeline()}`).toEqual([]);
    }
    for (const app of ['addon-flannel', 'web']) {
      expect(rounds.flatMap((r) => r.rounds).filter((x) => x.app === app || x.app === '(stack)').length, `${app} reconciled\n${timeline()}`).toBeGreaterThanOrEqual(1);
      // The metric agrees with the log on each replica.
      for (const r of replicas) {
        const counted = (await r.metrics.reconcileRuns.get()).values.find((v) => v.labels['app'] === app)?.value ?? 0;
        expect(counted, `${app} runs counted by ${r.identity}`).toBe(held(r).filter((x) => x.app === app).length);
      }
    }
    expect(statusOf(replicas.flatMap((r) => r.lines), 'addon-flannel', first.name)).toContain('Synced, Healthy');
  });
});
