/**
 * Which apps this `infra serve` process may reconcile. One process alone owns everything; with
 * replicas, the lease shards (reconciler/leases/) plug in here: `owns` is asked before every
 * job, the app's signal aborts a reconcile whose lease was lost (a fenced write), and `release`
 * hands the leases back on a clean shutdown so the next replica takes over at once.
 */
export interface Ownership {
  owns(app: string): boolean;
  /** Aborted when this process loses the app; undefined when it can never lose it. */
  signal(app: string): AbortSignal | undefined;
  /** Whether this process may run whole-stack rounds, removals included (it owns every app); else it prunes the departed apps it owns. */
  ownsRemovals(): boolean;
  /** Called by serve with a callback for apps that became ours (reconcile them now). */
  onGained?(listener: (app: string) => void): void;
  /** Called by serve with a callback for any shard gained (its departed apps are now ours to prune). */
  onShardsGained?(listener: () => void): void;
  release(): Promise<void>;
}

export const OWNS_EVERYTHING: Ownership = {
  owns: () => true,
  signal: () => undefined,
  ownsRemovals: () => true,
  release: async () => undefined,
};
