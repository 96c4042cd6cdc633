import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KubeClient } from '../../clusters/kube-client.ts';
import { waitFor } from '../../clusters/wait.ts';
import { ConfigMapPlacementStore } from '../../reconciler/failover/store.ts';
import type { PlacementState } from '../../reconciler/failover/state.ts';
import { apiserverRunning, killApiserver, restartCluster, testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { adminRequest, deleteIfPresent } from '../harness/kube-admin.ts';
import { readObject } from '../harness/reconcile-helpers.ts';
import { ServeProcess } from '../harness/serve-process.ts';

/**
 * Issue 12 acceptance: `infra serve` (real processes) fails an app over from edge-1 to core-1
 * when edge-1's apiserver dies, and back once edge-1 is Ready again, removing it from core-1 only
 * once it is Healthy on edge-1. core-1 (the first test cluster) is also the management cluster,
 * where the placement state, the health clocks and the Events live. Real time, real apiservers.
 */

const run = promisify(execFile);
const INFRA_BIN = join(import.meta.dirname, '../../cli/bin/infra.js');
const TOLERATION_S = 4;
const STABILIZATION_S = 4;

let core: TestCluster;
let edge: TestCluster;
let repo: GitFixture;
let work: string;
let serves: ServeProcess[] = [];
let n = 0;

beforeAll(async () => {
  [core, edge] = testClusters() as [TestCluster, TestCluster];
  repo = await GitFixture.create();
  work = await mkdtemp(join(tmpdir(), 'infra-failover-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await rm(repo.dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const s of serves) await s.stop('SIGKILL');
  serves = [];
  if (!apiserverRunning(edge)) await restartCluster(edge);
});

interface AppOpts {
  readonly name: string;
  readonly pvc?: boolean;
  readonly maxMovesPerHour?: number;
}

async function setup(app: AppOpts): Promise<{ stackFile: string; ns: string }> {
  const ns = `failover-${++n}-${process.pid}`;
  const files: Record<string, string> = { [`apps/${app.name}/cm.yaml`]: stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: app.name }, data: { v: '1' } }) };
  if (app.pvc) files[`apps/${app.name}/pvc.yaml`] = stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: app.name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  await repo.commit(files, `app ${app.name}`);
  const stack = {
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: `failover-${n}` },
    clusters: [
      { name: 'edge-1', kubeconfig: edge.kubeconfig },
      { name: 'core-1', kubeconfig: core.kubeconfig },
    ],
    gitops: {
      sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' }, interval: '1s', driftInterval: '2s' }],
      apps: [
        {
          name: app.name,
          source: 'repo',
          path: `apps/${app.name}`,
          namespace: ns,
          createNamespace: true,
          timeout: '30s',
          targets: { clusters: ['edge-1', 'core-1'] },
          placement: { maxClusters: 1, preference: ['edge-1', 'core-1'], failover: { tolerationSeconds: TOLERATION_S, failback: { enabled: true, stabilizationSeconds: STABILIZATION_S }, ...(app.maxMovesPerHour ? { maxMovesPerHour: app.maxMovesPerHour } : {}) } },
        },
      ],
    },
  };
  const stackFile = join(work, `stack-${n}.yaml`);
  await writeFile(stackFile, stringify(stack));
  return { stackFile, ns };
}

function serve(stackFile: string): ServeProcess {
  const s = ServeProcess.start(['-f', stackFile, '--management-kubeconfig', core.kubeconfig, '--probe-interval', '1s'], { ...process.env, INFRA_CACHE_DIR: join(work, 'cache') });
  serves.push(s);
  return s;
}

const store = () => new ConfigMapPlacementStore(new KubeClient('management', core.kubeconfig));

async function stored(app: string): Promise<PlacementState | undefined> {
  return (await store().read(app))?.state;
}

async function present(cluster: TestCluster, app: string, ns: string): Promise<boolean> {
  try {
    return (await readObject(cluster, 'v1', 'ConfigMap', app, ns)) !== undefined;
  } catch {
    return false;
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  return (await waitFor(async () => ((await check()) ? true : undefined), { timeoutMs, intervalMs: 200 })) === true;
}

async function infra(args: string[]): Promise<string> {
  return (await run(process.execPath, [INFRA_BIN, ...args], { env: { ...process.env, INFRA_CACHE_DIR: join(work, 'cache') } })).stdout;
}

describe('failover in infra serve', () => {
  it('moves the app to core-1 after tolerationSeconds and back after stabilizationSeconds, purging core-1 only once Healthy on edge-1', async () => {
    const { stackFile, ns } = await setup({ name: 'fo-web' });
    const s = serve(stackFile);
    expect(await until(() => present(edge, 'fo-web', ns), 60_000), s.raw).toBe(true);
    expect(await present(core, 'fo-web', ns)).toBe(false);

    await killApiserver(edge);
    const killedAt = Date.now();
    expect(await until(() => present(core, 'fo-web', ns), 60_000), s.raw).toBe(true);
    const recovered = Date.now() - killedAt;
    expect(recovered).toBeGreaterThanOrEqual(TOLERATION_S * 1000);
    // The reconcile retrying the dead edge-1 (for up to --retry-for, 30 s by default) stops as soon as
    // the app is moved off it, instead of holding the reconcile onto core-1 back until it gives up.
    expect(recovered).toBeLessThan(30_000);
    const failedOver = await stored('fo-web');
    expect(failedOver?.moves.some((m) => m.reason === 'failover' && m.from === 'edge-1' && m.to === 'core-1')).toBe(true);

    // The copy left on edge-1 was never touched (edge-1 could not be reached): failback re-applies it.
    await restartCluster(edge);
    const restartedAt = Date.now();
    // Never on zero clusters while failing back: core-1 keeps it until edge-1 has it.
    let sawZero = false;
    const gone = await until(async () => {
      const [e, c] = await Promise.all([present(edge, 'fo-web', ns), present(core, 'fo-web', ns)]);
      if (!e && !c) sawZero = true;
      return e && !c;
    }, 90_000);
    expect(gone, s.raw).toBe(true);
    expect(sawZero).toBe(false);
    expect(Date.now() - restartedAt).toBeGreaterThanOrEqual(STABILIZATION_S * 1000);
    const back = await stored('fo-web');
    expect(back?.clusters).toEqual(['edge-1']);
    expect(back?.moves.map((m) => m.reason)).toEqual(expect.arrayContaining(['failover', 'failback']));
    // The purge of core-1 came after the app was Healthy on edge-1 (the controller's order, from its log).
    const lines = s.lines.map((l) => String(l['msg']));
    const removed = lines.findIndex((m) => m === 'placement: removed from core-1');
    const failback = lines.findIndex((m) => m.startsWith('placement: failback'));
    expect(failback).toBeGreaterThanOrEqual(0);
    expect(removed).toBeGreaterThan(failback);

    // Status and history from the management cluster; an Event and the moves counter per move.
    const history = JSON.parse(await infra(['status', '-f', stackFile, '--management-kubeconfig', core.kubeconfig, '--history', 'fo-web', '--json'])) as { from: string; to: string; reason: string }[];
    expect(history.filter((h) => h.reason === 'failover' || h.reason === 'failback').map((h) => `${h.reason} ${h.from}→${h.to}`)).toEqual(['failover edge-1→core-1', 'failback core-1→edge-1']);
    const text = await infra(['status', '-f', stackFile, '--management-kubeconfig', core.kubeconfig]);
    expect(text).toMatch(/PLACEMENT\nfo-web: on edge-1 \(home edge-1\)/);
    const events = await adminRequest<{ items: { involvedObject: { name: string }; reason: string }[] }>(core, 'GET', '/api/v1/namespaces/infra-system/events');
    expect(events.items.filter((e) => e.involvedObject.name === 'infra-placement-fo-web').map((e) => e.reason)).toEqual(expect.arrayContaining(['FailedOver', 'FailedBack']));
    const metrics = await (await fetch(`${await s.url()}/metrics`)).text();
    expect(metrics).toMatch(/infra_placement_moves_total\{app="fo-web",from="edge-1",to="core-1",reason="failover"\} 1/);
    await deleteIfPresent(core, '/api/v1/namespaces/infra-system/configmaps/infra-placement-fo-web');
  }, 300_000);

  it('finishes a failover when the replica that decided it is SIGKILLed; the app never ends on zero clusters', async () => {
    const { stackFile, ns } = await setup({ name: 'fo-api' });
    const first = serve(stackFile);
    expect(await until(() => present(edge, 'fo-api', ns), 60_000), first.raw).toBe(true);
    await killApiserver(edge);
    // Killed right after it persisted the move, before (or while) it applies to core-1.
    await first.waitForLog((l) => String(l['msg']).startsWith('placement: failover'), 60_000);
    await first.stop('SIGKILL');
    const mid = await stored('fo-api');
    expect(mid?.clusters.length).toBeGreaterThan(0);
    expect(mid?.desired?.map((d) => d.cluster)).toEqual(['core-1']);
    const second = serve(stackFile);
    expect(await until(() => present(core, 'fo-api', ns), 60_000), second.raw).toBe(true);
    const after = await stored('fo-api');
    expect(after?.clusters).toContain('core-1');
    expect(after?.moves.filter((m) => m.reason === 'failover')).toHaveLength(1);
    await deleteIfPresent(core, '/api/v1/namespaces/infra-system/configmaps/infra-placement-api');
  }, 240_000);

  it('keeps an app that owns a PVC and has no data policy where it is, and status says why', async () => {
    const { stackFile, ns } = await setup({ name: 'fo-db', pvc: true });
    const s = serve(stackFile);
    expect(await until(() => present(edge, 'fo-db', ns), 60_000), s.raw).toBe(true);
    await killApiserver(edge);
    expect(await until(async () => (await stored('fo-db'))?.blocked !== undefined, 60_000), s.raw).toBe(true);
    expect(await present(core, 'fo-db', ns)).toBe(false);
    expect((await stored('fo-db'))?.clusters).toEqual(['edge-1']);
    const text = await infra(['status', '-f', stackFile, '--management-kubeconfig', core.kubeconfig]);
    expect(text).toMatch(/db: on edge-1 .*stays put: .*PersistentVolumeClaim|db: on edge-1 .*stays put: .*data/);
    await deleteIfPresent(core, '/api/v1/namespaces/infra-system/configmaps/infra-placement-db');
  }, 240_000);

  it('a flapping cluster causes no move storm: after maxMovesPerHour moves the app stays where it is and the state says why', async () => {
    const { stackFile, ns } = await setup({ name: 'fo-flap', maxMovesPerHour: 2 });
    const s = serve(stackFile);
    const moves = async () => ((await stored('fo-flap'))?.moves ?? []).filter((m) => m.reason === 'failover' || m.reason === 'failback').length;
    let sawZero = false;
    const watch = async () => {
      const st = await stored('fo-flap');
      if (st && st.clusters.length === 0) sawZero = true;
      return st;
    };
    expect(await until(() => present(edge, 'fo-flap', ns), 60_000), s.raw).toBe(true);
    // Outage 1: failover (move 1); back: failback (move 2).
    await killApiserver(edge);
    expect(await until(async () => (await watch())?.desired?.[0]?.cluster === 'core-1', 60_000), s.raw).toBe(true);
    await restartCluster(edge);
    expect(await until(async () => (await watch())?.desired?.[0]?.cluster === 'edge-1' && (await moves()) === 2 && !(await present(core, 'fo-flap', ns)), 90_000), s.raw).toBe(true);
    // Outage 2: the cap is reached; the app is not moved again, and the state says why.
    await killApiserver(edge);
    expect(await until(async () => /maxMovesPerHour 2 reached/.test((await watch())?.blocked ?? ''), 60_000), s.raw).toBe(true);
    expect((await stored('fo-flap'))?.desired?.map((d) => d.cluster)).toEqual(['edge-1']);
    expect(await moves()).toBe(2);
    expect(await present(core, 'fo-flap', ns)).toBe(false);
    expect(sawZero).toBe(false);
    await restartCluster(edge);
    await deleteIfPresent(core, '/api/v1/namespaces/infra-system/configmaps/infra-placement-flap');
  }, 300_000);
});
