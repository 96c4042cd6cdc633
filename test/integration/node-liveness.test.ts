import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { logFile, runningProcess } from '../../clusters/local/processes.ts';
import { clients, testClusters, testEnvironment, waitDeploymentAvailable } from '../harness/environment.ts';

/**
 * Fake nodes stay Ready while a cluster sits idle: kwok's heartbeats (node leases) arrive well
 * within the controller-manager's node-monitor grace period, so the node lifecycle controller
 * never marks them NotReady, taints them, or evicts their pods.
 */

/** A flag of a running component, read from its real command line (/proc), not from our own spec. */
function runningFlag(cluster: string, component: 'kube-controller-manager' | 'kwok', flag: string): string | undefined {
  const layout = clusterLayout(cluster, { ...process.env, INFRA_HOME: testEnvironment().infraHome });
  const pid = runningProcess(layout, component)?.pid;
  if (pid === undefined) throw new Error(`${component} of ${cluster} does not run`);
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

function seconds(duration: string): number {
  const m = /^(\d+)(s|m)$/.exec(duration);
  if (!m) throw new Error(`unexpected duration ${duration}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

describe('local cluster nodes', () => {
  it('stay Ready, untainted, with Available Deployments, for three grace periods of idling', async () => {
    const cluster = testClusters()[0];
    if (!cluster) throw new Error('no test cluster');
    // The grace period the cluster really runs with (50 s when the flag is absent: the upstream default).
    const grace = seconds(runningFlag(cluster.name, 'kube-controller-manager', '--node-monitor-grace-period') ?? '50s');
    expect(grace * 3, 'three grace periods must fit the test budget').toBeLessThanOrEqual(120);

    const { kc, core } = clients(cluster);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'idle', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'idle' } },
        template: { metadata: { labels: { app: 'idle' } }, spec: { containers: [{ name: 'idle', image: 'busybox:1.36' }] } },
      },
    } as KubernetesObject;
    await KubernetesObjectApi.makeApiClient(kc).patch(deployment, undefined, undefined, 'infra-test', true, PatchStrategy.ServerSideApply);
    expect(await waitDeploymentAvailable(cluster, 'default', 'idle')).toBe(true);

    const log = logFile(clusterLayout(cluster.name, { ...process.env, INFRA_HOME: testEnvironment().infraHome }), 'kube-controller-manager');
    const disruptionsBefore = (await readFile(log, 'utf8')).split('Entering master disruption mode').length;
    const problems: string[] = [];
    const until = Date.now() + 3 * grace * 1000;
    while (Date.now() < until) {
      for (const node of (await core.listNode()).items) {
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
        const taints = (node.spec?.taints ?? []).map((t) => t.key).filter((k) => k.startsWith('node.kubernetes.io/'));
        if (ready !== 'True' || taints.length > 0) problems.push(`${new Date().toISOString()} ${node.metadata?.name}: Ready=${ready} ${taints.join(',')}`);
      }
      // Sampled twice a second: the controller checks every 5 s, so no NotReady spell slips between samples.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(problems).toEqual([]);
    expect((await readFile(log, 'utf8')).split('Entering master disruption mode').length).toBe(disruptionsBefore);
    expect(await waitDeploymentAvailable(cluster, 'default', 'idle', 1_000)).toBe(true);
    await KubernetesObjectApi.makeApiClient(kc).delete(deployment);
  }, 180_000);
});
