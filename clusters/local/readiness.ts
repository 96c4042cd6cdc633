import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ComponentFailedError } from '../errors.ts';
import { waitFor } from '../wait.ts';
import { tail } from '../host/command.ts';
import type { LocalClusterState } from './cluster-state.ts';
import type { ComponentName } from './control-plane.ts';
import type { ClusterLayout } from './layout.ts';
import { httpsGet, type TlsClientFiles } from './probe.ts';
import { logFile, runningProcess } from './processes.ts';

/** Waits for each component to answer, and says why when one dies instead. */

async function tls(layout: ClusterLayout, client: string): Promise<TlsClientFiles> {
  const read = (f: string) => readFile(join(layout.pkiDir, f), 'utf8');
  return { ca: await read('ca.crt'), cert: await read(`${client}.crt`), key: await read(`${client}.key`) };
}

export async function waitEtcdHealthy(layout: ClusterLayout, state: LocalClusterState, signal?: AbortSignal): Promise<void> {
  const creds = await tls(layout, 'apiserver-etcd-client');
  const url = `https://127.0.0.1:${state.ports.etcdClient}/health`;
  await waitAnswering(layout, 'etcd', 30_000, signal, async () => {
    const r = await httpsGet(url, creds);
    return r?.status === 200 && r.body.includes('"health":"true"') ? true : undefined;
  });
}

export async function waitApiserverReady(layout: ClusterLayout, state: LocalClusterState, signal?: AbortSignal): Promise<void> {
  const creds = await tls(layout, 'admin');
  const url = `https://127.0.0.1:${state.ports.apiserver}/readyz`;
  await waitAnswering(layout, 'kube-apiserver', 90_000, signal, async () => {
    const r = await httpsGet(url, creds);
    return r?.status === 200 ? true : undefined;
  });
}

/** Nodes Ready (kwok works) and the default ServiceAccount made (the controller-manager works). */
export async function waitWorkloadsReady(
  layout: ClusterLayout,
  state: LocalClusterState,
  kc: KubeConfig,
  readyNodes: () => Promise<number>,
  signal?: AbortSignal,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const ok = await waitFor(
    async () => {
      for (const c of ['kube-controller-manager', 'kube-scheduler', 'kwok'] as const) await assertAlive(layout, c);
      if ((await readyNodes()) < state.nodes) return undefined;
      try {
        await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
        return true;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 90_000, intervalMs: 200, signal },
  );
  if (!ok) {
    throw new ComponentFailedError(`local cluster "${state.name}": ${state.nodes} node(s) not Ready within 90s`, {
      where: layout.logDir,
      hint: `read the kwok and kube-controller-manager logs in ${layout.logDir}`,
    });
  }
}

async function waitAnswering(
  layout: ClusterLayout,
  component: ComponentName,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  check: () => Promise<true | undefined>,
): Promise<void> {
  const ok = await waitFor(
    async () => {
      const answer = await check();
      if (answer) return answer;
      await assertAlive(layout, component);
      return undefined;
    },
    { timeoutMs, intervalMs: 100, signal },
  );
  if (!ok) {
    throw new ComponentFailedError(`${component} of local cluster "${layout.name}" did not become ready in ${timeoutMs / 1000}s`, {
      where: logFile(layout, component),
      hint: `read ${logFile(layout, component)}; \`infra local down ${layout.name}\` then \`up\` retries`,
    });
  }
}

export async function assertAlive(layout: ClusterLayout, component: ComponentName): Promise<void> {
  if (runningProcess(layout, component)) return;
  const log = await readFile(logFile(layout, component), 'utf8').catch(() => '');
  const last = tail(log, 1).slice(0, 400);
  const corrupt = component === 'etcd' && /corrupt|checksum|unexpected EOF|failed to recover|invalid|panic/i.test(log);
  throw new ComponentFailedError(`${component} of local cluster "${layout.name}" exited: ${last || 'no log output'}`, {
    where: logFile(layout, component),
    hint: corrupt
      ? `its data in ${layout.etcdDataDir} looks corrupt: run \`infra local down ${layout.name} --purge\` and create the cluster again`
      : `read ${logFile(layout, component)}; \`infra local up ${layout.name}\` restarts what died`,
  });
}
