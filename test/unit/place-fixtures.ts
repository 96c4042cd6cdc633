import type { AppSpec, ClusterSpec, FailoverSpec, PlacementSpec } from '../../stacks/gitops.ts';
import { decide } from '../../reconciler/place/decide.ts';
import type { AppDemand, AppHealthState, ClusterCapacity, ClusterHealth, Decision, PlacementState } from '../../reconciler/place/types.ts';

/** Builders for the pure placement engine's unit tests (no I/O; the clock is whatever `now` a test passes). */

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const s = (seconds: number) => T0 + seconds * 1000;

export function cluster(name: string, labels: Record<string, string> = {}): ClusterSpec {
  return { name, local: true, labels, distribution: 'local', version: '1.31.0', controlPlanes: 1, nodes: 1, hosts: [], datastore: 'sqlite', cni: 'flannel', csi: 'none', runtimes: [] } as unknown as ClusterSpec;
}

export const FAILOVER: FailoverSpec = { tolerationSeconds: 10, purgeMode: 'Graciously', failback: { enabled: true, stabilizationSeconds: 30 }, maxMovesPerHour: 4 };

export function app(placement: Partial<PlacementSpec> | undefined, targets: string[] = ['edge-1', 'core-1']): AppSpec {
  return {
    name: 'web', source: 'platform', path: '.', render: 'auto', helm: { values: {}, valuesFiles: [] }, createNamespace: false,
    targets: { clusters: targets }, prune: true, allowEmpty: false, wait: true, timeoutMs: 1000, dependsOn: [], variables: {},
    substitute: true, clusterVariables: {}, drift: 'correct', conflicts: 'force', ignore: [], appsFolder: false,
    ...(placement ? { placement: { replicas: 'Duplicated', ...placement } } : {}),
  };
}

export const ready = (cluster: string, since = s(-3600)): ClusterHealth => ({ cluster, state: 'Ready', since, readySince: since, reachable: true });
export const down = (cluster: string, since: number, state: 'NotReady' | 'Unknown' = 'Unknown', unhealthySince = since): ClusterHealth => ({ cluster, state, since, unhealthySince, reachable: state === 'NotReady' });

export const NO_DEMAND: AppDemand = { perReplica: { cpuMilli: 100, memoryBytes: 0, pods: 1 }, replicas: 1, ownsPvc: false };

export function capacity(cluster: string, freeCpuMilli: number, freePods = 100): ClusterCapacity {
  return { cluster, allocatable: { cpuMilli: 4000, memoryBytes: 8 * 2 ** 30, pods: 110 }, requested: { cpuMilli: 4000 - freeCpuMilli, memoryBytes: 0, pods: 110 - freePods } };
}

export interface Run {
  app: AppSpec;
  clusters: ClusterSpec[];
  health?: ClusterHealth[];
  capacity?: ClusterCapacity[];
  demand?: AppDemand;
  state?: PlacementState;
  appHealth?: Record<string, AppHealthState>;
  now: number;
}

export function run(r: Run): Decision {
  return decide({
    app: r.app,
    clusters: r.clusters,
    health: new Map((r.health ?? []).map((h) => [h.cluster, h])),
    capacity: new Map((r.capacity ?? []).map((c) => [c.cluster, c])),
    demand: r.demand ?? NO_DEMAND,
    ...(r.state ? { state: r.state } : {}),
    appHealth: new Map(Object.entries(r.appHealth ?? {})),
    now: r.now,
  });
}

export const chosen = (d: Decision) => d.desired.map((x) => x.cluster);
export const ruleOf = (d: Decision, cluster: string) => d.explain.find((e) => e.cluster === cluster)?.rule;
