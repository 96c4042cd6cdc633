import { KubeClient } from '../clusters/kube-client.ts';
import { clusterLayout } from '../clusters/local/layout.ts';
import type { ClusterSpec } from '../stacks/gitops.ts';
import { ClusterApplier } from './apply/cluster-applier.ts';
import { Journal } from './sync/journal.ts';
import { ClusterRound } from './sync/round-cache.ts';
import type { ClusterTarget } from './sync/target.ts';

/** Connections to the stack's clusters: an explicit kubeconfig, or the `infra local` cluster of that name. */
export function kubeconfigOf(spec: ClusterSpec, env: NodeJS.ProcessEnv = process.env): string {
  return spec.kubeconfig ?? clusterLayout(spec.name, env).kubeconfig;
}

export function connect(spec: ClusterSpec, env?: NodeJS.ProcessEnv, maxSockets = 32, stack = ''): ClusterTarget {
  const client = new KubeClient(spec.name, kubeconfigOf(spec, env), { maxSockets });
  const applier = new ClusterApplier(client);
  return { spec, client, applier, round: new ClusterRound(applier, stack), journal: new Journal(client) };
}
