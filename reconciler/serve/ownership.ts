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
  /** Whether this process may prune apps that left the stack (only one process should). */
  ownsRemovals(): boolean;
  /** Called by serve with a callback for apps that became ours (reconcile them now). */
  onGained?(listener: (app: string) => void): void;
  release(): Promise<void>;
}

export const OWNS_EVERYTHING: Ownership = {
  owns: () => true,
  signal: () => undefined,
  ownsRemovals: () => true,
  release: async () => undefined,
};
