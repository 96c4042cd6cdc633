import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { kubeConfigFromFile } from '../../clusters/connection.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { killComponent, runningProcess, stopComponent } from '../../clusters/local/processes.ts';
import { waitFor } from '../../clusters/wait.ts';
import { KubeClient } from '../../clusters/kube-client.ts';
import { readRecord } from '../../reconciler/status/app-record.ts';
import type { TestCluster, TestEnvironment } from './environment-spec.ts';

/** Helpers for integration tests: the clusters of this run, clients, and ways to break them. */

export function testEnvironment(): TestEnvironment {
  return inject('testEnvironment');
}

export function testClusters(): readonly TestCluster[] {
  return testEnvironment().clusters;
}

export function clients(cluster: TestCluster): { kc: KubeConfig; core: CoreV1Api; apps: AppsV1Api } {
  const kc = kubeConfigFromFile(cluster.kubeconfig);
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
}

function env(): NodeJS.ProcessEnv {
  return { ...process.env, INFRA_HOME: testEnvironment().infraHome };
}

/** SIGKILLs one cluster's kube-apiserver: a crash, not a clean stop. */
export async function killApiserver(cluster: TestCluster): Promise<void> {
  await killComponent(clusterLayout(cluster.name, env()), 'kube-apiserver');
}

/** Stops one cluster's kube-apiserver cleanly (SIGTERM, then SIGKILL after a grace period). */
export async function stopApiserver(cluster: TestCluster): Promise<void> {
  await stopComponent(clusterLayout(cluster.name, env()), 'kube-apiserver');
}

/** Stops one cluster's etcd: its apiserver keeps answering, but /readyz fails and writes cannot be stored. */
export async function stopEtcd(cluster: TestCluster): Promise<void> {
  await stopComponent(clusterLayout(cluster.name, env()), 'etcd');
}

export function apiserverRunning(cluster: TestCluster): boolean {
  return runningProcess(clusterLayout(cluster.name, env()), 'kube-apiserver') !== undefined;
}

/** Restarts whatever of the cluster died, and waits until it serves again. */
export async function restartCluster(cluster: TestCluster): Promise<void> {
  await upLocalCluster(cluster.name, { env: env() });
}

/** Waits until a Deployment reports Available with all replicas; returns false on timeout. */
export async function waitDeploymentAvailable(cluster: TestCluster, namespace: string, name: string, timeoutMs = 60_000): Promise<boolean> {
  const { apps } = clients(cluster);
  const ok = await waitFor(
    async () => {
      const d = await apps.readNamespacedDeployment({ name, namespace });
      const available = d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
      return available && d.status?.availableReplicas === d.spec?.replicas ? true : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return ok === true;
}

/** The app's record (inventory and status) as stored in the cluster. */
export async function recordOn(cluster: TestCluster, app: string) {
  const client = new KubeClient(cluster.name, cluster.kubeconfig);
  try {
    return await readRecord(client, app);
  } finally {
    client.close();
  }
}
