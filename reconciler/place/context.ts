import type { ClusterSpec, PlacementSpec } from '../../stacks/gitops.ts';
import { freeOf, replicasThatFit, shortage } from './capacity.ts';
import { pick, rank } from './select.ts';
import type { DecideInput } from './types.ts';

/** What decide's steps share: the input plus the policy's view of each cluster. */
export interface Context {
  readonly input: DecideInput;
  readonly policy: PlacementSpec;
  readonly byName: ReadonlyMap<string, ClusterSpec>;
  /** Candidates in policy order. */
  readonly ranked: readonly ClusterSpec[];
  readonly home: readonly string[];
  isReady(cluster: string): boolean;
  /** `capacity: ...` when the cluster cannot hold the app (clusters the app is on already always fit). */
  capacityRule(cluster: string, replicas?: number): string | undefined;
  healthRule(cluster: string): string;
}

export function context(input: DecideInput, policy: PlacementSpec, candidates: readonly ClusterSpec[]): Context {
  const byName = new Map(input.clusters.map((c) => [c.name, c]));
  const ranked = rank(candidates, policy);
  const onNow = new Set([...(input.state?.clusters ?? []), ...(input.state?.home ?? [])]);
  const { demand } = input;
  const capacityRule = (n: string, replicas?: number): string | undefined => {
    const cap = input.capacity.get(n);
    if (!cap || demand.replicas === 0 || onNow.has(n)) return undefined;
    const need = replicas ?? (policy.replicas === 'Divided' ? 1 : demand.replicas);
    const free = freeOf(cap);
    return replicasThatFit(free, demand.perReplica) >= need ? undefined : `capacity: ${shortage(free, demand.perReplica, need)}`;
  };
  const isReady = (n: string) => (input.health.get(n)?.state ?? 'Ready') === 'Ready';
  const healthRule = (n: string) => {
    const h = input.health.get(n);
    if (!h) return 'health: Ready (no probe yet)';
    const since = h.unhealthySince ?? h.since;
    return h.state === 'Ready' ? `health: Ready since ${iso(h.readySince ?? h.since)}` : `health: ${h.state} since ${iso(h.since)} (unhealthy since ${iso(since)})`;
  };
  const home = pick(ranked.filter((c) => !capacityRule(c.name)), policy).chosen;
  return { input, policy, byName, ranked, home, isReady, capacityRule, healthRule };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

