import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FailoverController } from '../../reconciler/failover/controller.ts';
import { PlacementConflictError } from '../../reconciler/failover/errors.ts';
import { historyRows, placementLines, placementRows } from '../../reconciler/failover/report.ts';
import type { PlacementState } from '../../reconciler/failover/state.ts';
import { FilePlacementStore, type PlacementStore, type StoredPlacement } from '../../reconciler/failover/store.ts';
import { applyTargets, keptTargets } from '../../reconciler/failover/targets.ts';
import type { ClusterHealth } from '../../reconciler/place/types.ts';
import type { AppRecord } from '../../reconciler/status/app-record.ts';
import type { FailoverSpec, PlacementSpec } from '../../stacks/gitops.ts';
import { parseStack, type StackSpec } from '../../stacks/load.ts';

/** The failover controller's order of effects with an injected clock, an in-memory store and fake records. */

/** The stack, with the placement block set on `web` (the parser's defaults filled in by hand). */
function stack(extra: Partial<FailoverSpec> = {}): StackSpec {
  const parsed = parseStack(
    '/tmp/stack.yaml',
    stringify({
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      metadata: { name: 's' },
      clusters: [
        { name: 'edge-1', kubeconfig: '/dev/null' },
        { name: 'core-1', kubeconfig: '/dev/null' },
      ],
      gitops: {
        sources: [{ name: 'repo', url: 'https://example.invalid/r.git', ref: { branch: 'main' } }],
        apps: [
          {
            name: 'web',
            source: 'repo',
            path: 'web',
            targets: { clusters: ['edge-1', 'core-1'] },
          },
          { name: 'plain', source: 'repo', path: 'plain', targets: { clusters: ['edge-1', 'core-1'] } },
        ],
      },
    }),
  );
  const failover: FailoverSpec = { tolerationSeconds: 10, purgeMode: 'Graciously', failback: { enabled: true, stabilizationSeconds: 30 }, maxMovesPerHour: 4, ...extra };
  const placement: PlacementSpec = { maxClusters: 1, preference: ['edge-1', 'core-1'], replicas: 'Duplicated', failover };
  return { ...parsed, gitops: { ...parsed.gitops, apps: parsed.gitops.apps.map((a) => (a.name === 'web' ? { ...a, placement } : a)) } };
}

class MemoryStore implements PlacementStore {
  readonly where = 'memory';
  readonly states = new Map<string, StoredPlacement>();
  readonly log: string[];
  conflictNext = false;
  constructor(log: string[]) {
    this.log = log;
  }
  async read(app: string) {
    return this.states.get(app);
  }
  async list() {
    return [...this.states.values()];
  }
  async write(state: PlacementState, expected: string | undefined) {
    if (this.conflictNext || this.states.get(state.app)?.version !== expected) {
      this.conflictNext = false;
      throw new PlacementConflictError('conflict');
    }
    const version = String(Number(expected ?? 0) + 1);
    this.states.set(state.app, { state, version });
    this.log.push(`write ${state.desired?.map((d) => d.cluster).join(',')} purging=${(state.purging ?? []).join(',')}`);
    return version;
  }
}

function rig(opts: { extra?: Partial<FailoverSpec>; rendered?: boolean } = {}) {
  const log: string[] = [];
  const store = new MemoryStore(log);
  let now = 1_000_000;
  const health = new Map<string, ClusterHealth>();
  const records = new Map<string, AppRecord | 'unreachable'>();
  const purged: string[] = [];
  const spec = stack(opts.extra);
  const c = new FailoverController({
    stack: () => spec,
    store,
    owns: () => true,
    signalOf: () => undefined,
    health: () => health,
    recordOf: async (cluster) => {
      const r = records.get(cluster.name);
      if (!r || r === 'unreachable') throw new Error(`${cluster.name} unreachable`);
      return r;
    },
    reconcile: (app, reason) => log.push(`reconcile ${app} (${reason})`),
    purge: async (app, cluster) => {
      log.push(`purge ${app} ${cluster}`);
      purged.push(cluster);
      records.delete(cluster);
      return true;
    },
    log: () => undefined,
    now: () => now,
  });
  if (opts.rendered !== false) c.rendered('web', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' } }]);
  const healthy = (cluster: string, pvc = false): AppRecord => ({
    inventory: { revision: 'r', entries: [{ key: pvc ? '/PersistentVolumeClaim/ns/data' : '/ConfigMap/ns/web', apiVersion: 'v1', digest: 'd' }] },
    status: { app: 'web', cluster, revision: 'r', sync: 'Synced', health: 'Healthy', drifted: [], unhealthy: [], objects: 1 },
  });
  return {
    c,
    log,
    store,
    health,
    records,
    purged,
    healthy,
    advance: (ms: number) => (now += ms),
    get now() {
      return now;
    },
  };
}

const ready = (cluster: string, since: number): ClusterHealth => ({ cluster, state: 'Ready', since, readySince: since, reachable: true });
const down = (cluster: string, since: number): ClusterHealth => ({ cluster, state: 'Unknown', since, unhealthySince: since, reachable: false });

describe('FailoverController', () => {
  it('places at home first, persists before queueing the reconcile, and only decides for apps with a failover policy', async () => {
    const r = rig();
    r.health.set('edge-1', ready('edge-1', 0)).set('core-1', ready('core-1', 0));
    await r.c.tick();
    expect(r.log).toEqual(['write edge-1 purging=', 'reconcile web (placement)']);
    expect(r.c.desired('web')).toEqual([{ cluster: 'edge-1' }]);
    expect(r.c.desired('plain')).toBeUndefined();
    await r.c.tick();
    expect(r.log).toHaveLength(2); // nothing changed: no write, no new reconcile
  });

  it('fails over after tolerationSeconds, purges the failed cluster only once the app is Healthy on the new one and the old one answers', async () => {
    const r = rig({ extra: { purgeMode: 'Graciously' } });
    r.health.set('edge-1', ready('edge-1', 0)).set('core-1', ready('core-1', 0));
    r.records.set('edge-1', r.healthy('edge-1'));
    await r.c.tick();
    r.health.set('edge-1', down('edge-1', r.now));
    r.records.set('edge-1', 'unreachable');
    r.advance(5_000);
    await r.c.tick();
    expect(r.c.desired('web')).toEqual([{ cluster: 'edge-1' }]); // toleration not over
    r.advance(6_000);
    await r.c.tick();
    expect(r.c.desired('web')).toEqual([{ cluster: 'core-1' }]);
    expect(r.log.slice(-2)).toEqual(['write core-1 purging=', 'reconcile web (placement)']);
    // core-1 not Healthy yet, edge-1 unreachable: nothing purged.
    await r.c.tick();
    expect(r.purged).toEqual([]);
    r.records.set('core-1', r.healthy('core-1'));
    await r.c.tick();
    expect(r.purged).toEqual([]); // edge-1 still unreachable (Graciously)
    expect((await r.store.read('web'))?.state.clusters).toContain('core-1');
  });

  it('a new controller reading the stored state finishes the move (reconciles onto the decided cluster) without deciding it again', async () => {
    const r = rig();
    r.health.set('edge-1', down('edge-1', r.now - 60_000)).set('core-1', ready('core-1', 0));
    r.records.set('edge-1', 'unreachable');
    await r.c.tick();
    expect(r.c.desired('web')).toEqual([{ cluster: 'core-1' }]);
    const moves = (await r.store.read('web'))?.state.moves.length;
    // A successor: loads first, so its first round applies to core-1.
    const log: string[] = [];
    const next = new FailoverController({ ...(r.c as unknown as { deps: ConstructorParameters<typeof FailoverController>[0] }).deps, reconcile: (app) => log.push(`reconcile ${app}`) });
    await next.load();
    expect(next.desired('web')).toEqual([{ cluster: 'core-1' }]);
    await next.tick();
    expect(log).toEqual(['reconcile web']);
    expect((await r.store.read('web'))?.state.moves.length).toBe(moves);
  });

  it('decides nothing for an app not yet rendered nor recorded (whether it owns PVCs is unknown), then blocks it once its render shows a PVC', async () => {
    const r = rig({ rendered: false });
    r.health.set('edge-1', ready('edge-1', 0)).set('core-1', ready('core-1', 0));
    r.records.set('edge-1', 'unreachable');
    await r.c.tick();
    expect(r.log).toEqual([]);
    r.c.rendered('web', [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' } }]);
    await r.c.tick();
    expect(r.c.desired('web')).toEqual([{ cluster: 'edge-1' }]);
    r.health.set('edge-1', down('edge-1', r.now));
    r.advance(60_000);
    await r.c.tick();
    expect((await r.store.read('web'))?.state).toMatchObject({ ownsPvc: true, blocked: expect.any(String) });
    expect(r.c.desired('web')).toEqual([{ cluster: 'edge-1' }]);
  });

  it('purges again a copy a reconcile re-created on a cluster the app was just removed from (a reconcile raced the purge)', async () => {
    const r = rig({ extra: { purgeMode: 'Immediately' } });
    r.health.set('edge-1', ready('edge-1', 0)).set('core-1', ready('core-1', 0));
    r.records.set('edge-1', r.healthy('edge-1'));
    await r.c.tick();
    r.health.set('edge-1', down('edge-1', r.now));
    r.advance(11_000);
    await r.c.tick();
    expect(r.c.desired('web')).toEqual([{ cluster: 'core-1' }]);
    r.records.set('core-1', r.healthy('core-1'));
    r.health.set('edge-1', { cluster: 'edge-1', state: 'NotReady', since: r.now, unhealthySince: r.now - 11_000, reachable: true });
    await r.c.tick();
    await r.c.tick();
    expect(r.purged).toEqual(['edge-1']);
    // The racing reconcile wrote edge-1's copy back after the purge.
    r.records.set('edge-1', r.healthy('edge-1'));
    await r.c.tick();
    expect(r.purged).toEqual(['edge-1', 'edge-1']);
    expect((await r.store.read('web'))?.state.clusters).toEqual(['core-1']);
  });

  it('acts on nothing when another writer stored a state first', async () => {
    const r = rig();
    r.store.conflictNext = true;
    await r.c.tick();
    expect(r.log).toEqual([]);
    expect(r.c.desired('web')).toBeUndefined();
  });

  it('keeps an app whose inventory holds a PVC where it is when its policy has no data rule, remembering the PVC while the cluster is down', async () => {
    const r = rig({ rendered: false });
    r.health.set('edge-1', ready('edge-1', 0)).set('core-1', ready('core-1', 0));
    r.records.set('edge-1', r.healthy('edge-1', true));
    await r.c.tick();
    r.health.set('edge-1', down('edge-1', r.now));
    r.records.set('edge-1', 'unreachable');
    r.advance(60_000);
    await r.c.tick();
    const s = (await r.store.read('web'))?.state;
    expect(s?.ownsPvc).toBe(true);
    expect(s?.blocked).toBeDefined();
    expect(r.c.desired('web')).toEqual([{ cluster: 'edge-1' }]);
    expect(placementLines(placementRows([s!], r.now))[0]).toMatch(/^web: on edge-1 \(home edge-1\) — stays put: /);
  });
});

describe('placement targets of a round', () => {
  it('applies a placed app where the view says and never lets a round prune a candidate', () => {
    const s = stack();
    const web = s.gitops.apps.find((a) => a.name === 'web')!;
    expect(applyTargets(web, s.clusters).map((c) => c.name)).toEqual(['edge-1']); // initial placement: all assumed Ready
    expect(applyTargets(web, s.clusters, { desired: () => [{ cluster: 'core-1' }] }).map((c) => c.name)).toEqual(['core-1']);
    expect(keptTargets(web, s.clusters).map((c) => c.name)).toEqual(['edge-1', 'core-1']);
    const plain = s.gitops.apps.find((a) => a.name === 'plain')!;
    expect(applyTargets(plain, s.clusters, { desired: () => [{ cluster: 'core-1' }] }).map((c) => c.name)).toEqual(['edge-1', 'core-1']);
  });
});

describe('status report', () => {
  const state: PlacementState = {
    app: 'web',
    clusters: ['core-1', 'edge-1'],
    home: ['edge-1'],
    moves: [
      { from: 'core-1', to: 'edge-1', reason: 'failback', at: 3_000_000, detail: 'edge-1 Ready 30s' },
      { from: 'edge-1', to: 'core-1', reason: 'failover', at: 2_000_000, detail: 'edge-1 Unknown for 10s' },
    ],
    pending: [{ from: 'edge-1', to: 'core-1', reason: 'failover', dueAt: 1_007_500 }],
  };
  it('shows where, why and the time left on the toleration clock', () => {
    expect(placementLines(placementRows([state], 1_000_000))).toEqual(['web: on core-1, edge-1 (home edge-1) — at home; pending: failover edge-1 → core-1 in 8s']);
  });
  it('lists moves oldest first with ISO times', () => {
    expect(historyRows(state).map((h) => `${h.at} ${h.reason} ${h.from}→${h.to}`)).toEqual(['1970-01-01T00:33:20.000Z failover edge-1→core-1', '1970-01-01T00:50:00.000Z failback core-1→edge-1']);
  });
});

describe('FilePlacementStore', () => {
  it('compare-and-swaps on its version and keeps the file private', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'placement-store-'));
    try {
      const file = join(dir, 'serve', 'placement.json');
      const store = new FilePlacementStore(file);
      const s: PlacementState = { app: 'web', clusters: ['edge-1'], home: ['edge-1'], moves: [], pending: [] };
      const v1 = await store.write(s, undefined);
      await expect(store.write(s, undefined)).rejects.toBeInstanceOf(PlacementConflictError);
      const v2 = await store.write({ ...s, clusters: ['core-1'] }, v1);
      await expect(store.write(s, v1)).rejects.toBeInstanceOf(PlacementConflictError);
      expect(await store.read('web')).toEqual({ state: { ...s, clusters: ['core-1'] }, version: v2 });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await store.list()).map((p) => p.state.app)).toEqual(['web']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
