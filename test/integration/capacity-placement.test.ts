import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cpuMilli } from '../../clusters/health/quantity.ts';
import { waitFor } from '../../clusters/wait.ts';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { adminRequest, deleteIfPresent } from '../harness/kube-admin.ts';
import { ServeProcess } from '../harness/serve-process.ts';

/**
 * Issue 12 acceptance, capacity: three candidate clusters, one nearly full (a filler pod bound to
 * each of its nodes requests all but 100m of their CPU). `infra serve` divides 6 replicas of 500m
 * over the two with room (3 + 3, none on the full one), and status says why the full one got none.
 * Real apiservers, real kwok nodes, real serve process.
 */

const run = promisify(execFile);
const INFRA_BIN = join(import.meta.dirname, '../../cli/bin/infra.js');

let clusters: [TestCluster, TestCluster, TestCluster];
let repo: GitFixture;
let work: string;
let serve: ServeProcess | undefined;
const ns = `capacity-${process.pid}`;
const fillers: string[] = [];

interface Node { metadata: { name: string }; status?: { allocatable?: Record<string, string> } }
interface Pod { spec?: { nodeName?: string; containers?: { resources?: { requests?: Record<string, string> } }[] } }


/** Binds a pod to every node of `cluster` requesting all of its free CPU but 100m. */
async function fill(cluster: TestCluster): Promise<void> {
  const nodes = (await adminRequest<{ items: Node[] }>(cluster, 'GET', '/api/v1/nodes')).items;
  const pods = (await adminRequest<{ items: Pod[] }>(cluster, 'GET', '/api/v1/pods', undefined, undefined, { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })).items;
  for (const node of nodes) {
    const used = pods.filter((p) => p.spec?.nodeName === node.metadata.name).reduce((s, p) => s + (p.spec?.containers ?? []).reduce((t, c) => t + cpuMilli(c.resources?.requests?.['cpu']), 0), 0);
    const free = cpuMilli(node.status?.allocatable?.['cpu']) - used;
    expect(free, `node ${node.metadata.name} of ${cluster.name}: allocatable cpu`).toBeGreaterThan(1000);
    const name = `capacity-filler-${node.metadata.name}`;
    fillers.push(name);
    await adminRequest(cluster, 'POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { nodeName: node.metadata.name, containers: [{ name: 'fill', image: 'filler', resources: { requests: { cpu: `${Math.max(0, free - 100)}m` } } }] },
    });
  }
}

async function replicasOn(cluster: TestCluster): Promise<number | undefined> {
  try {
    const d = await adminRequest<{ spec?: { replicas?: number } }>(cluster, 'GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`);
    return d.spec?.replicas;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  clusters = testClusters() as [TestCluster, TestCluster, TestCluster];
  expect(clusters.length).toBeGreaterThanOrEqual(3);
  repo = await GitFixture.create();
  work = await mkdtemp(join(tmpdir(), 'infra-capacity-'));
});

afterAll(async () => {
  await serve?.stop('SIGKILL');
  for (const name of fillers) await deleteIfPresent(clusters[2], `/api/v1/namespaces/default/pods/${name}`);
  for (const c of clusters) await deleteIfPresent(c, `/api/v1/namespaces/${ns}`);
  await rm(work, { recursive: true, force: true });
  await rm(repo.dir, { recursive: true, force: true });
});

describe('infra serve: capacity-aware Divided placement', () => {
  it('divides the replicas over the clusters with room; the nearly full one gets none and status says why', async () => {
    const [a, b, full] = clusters;
    await fill(full);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 6,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1', resources: { requests: { cpu: '500m', memory: '64Mi' } } }] } },
      },
    };
    await repo.commit({ 'apps/capacity-web/deployment.yaml': stringify(deployment) }, 'web');
    const stack = {
      apiVersion: 'infra.dev/v1alpha1',
      kind: 'Stack',
      metadata: { name: 'capacity-divided' },
      clusters: [
        { name: 'a', kubeconfig: a.kubeconfig },
        { name: 'b', kubeconfig: b.kubeconfig },
        { name: 'full', kubeconfig: full.kubeconfig },
      ],
      gitops: {
        sources: [{ name: 'repo', url: repo.dir, ref: { branch: 'main' }, interval: '1s' }],
        apps: [
          {
            name: 'capacity-web',
            source: 'repo',
            path: 'apps/capacity-web',
            namespace: ns,
            createNamespace: true,
            timeout: '30s',
            targets: { clusters: ['a', 'b', 'full'] },
            placement: { replicas: 'Divided', failover: { tolerationSeconds: 5 } },
          },
        ],
      },
    };
    const stackFile = join(work, 'stack.yaml');
    await writeFile(stackFile, stringify(stack));
    // Its own INFRA_HOME: serve keeps the placement and health clocks there (no management cluster), and an earlier
    // run's placement (on all three, from before the full cluster was filled) must not be where this one starts.
    const env = { ...process.env, INFRA_CACHE_DIR: join(work, 'cache'), INFRA_HOME: join(work, 'home') };
    serve = ServeProcess.start(['-f', stackFile, '--probe-interval', '1s'], env);
    // A round may apply the app before its first render told serve what it requests (initial placement: every
    // candidate); the decision then divides it and removes it from the full cluster once it is Healthy on a and b.
    let seen: (number | undefined)[] = [];
    const split = await waitFor(async () => {
      const r = [await replicasOn(a), await replicasOn(b), await replicasOn(full)];
      seen = r;
      return r[0] !== undefined && r[1] !== undefined && r[0] + r[1] === 6 && r[2] === undefined ? r : undefined;
    }, { timeoutMs: 45_000, intervalMs: 250 });
    expect(split, `replicas on a, b, full last seen: ${JSON.stringify(seen)}; serve's log:\n${serve.raw.split('\n').slice(-60).join('\n')}`).toEqual([3, 3, undefined]);
    const out = JSON.parse((await run(process.execPath, [INFRA_BIN, 'status', '-f', stackFile, '--json'], { env })).stdout) as { placements: { app: string; why: string; replicas?: Record<string, number> }[] };
    const web = out.placements.find((p) => p.app === 'capacity-web');
    expect(web?.replicas).toEqual({ a: 3, b: 3 });
    expect(web?.why).toMatch(/not on full: capacity: needs 500m cpu for 1 replica\(s\), \d+m cpu free/);
  }, 60_000);
});
