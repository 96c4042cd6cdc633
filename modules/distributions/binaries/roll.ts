/**
 * One node at a time during an upgrade: updates of a cluster's members queue here, and the
 * first that fails stops the roll, so the nodes behind it keep their old version and the error
 * says where it stopped. One queue per cluster and per engine run (the provider process).
 */
export class RollQueue {
  private tail: Promise<void> = Promise.resolve();
  private stoppedAt: { host: string; message: string } | undefined;

  /** Runs `work` after every earlier update of the cluster; refuses once the roll stopped. */
  run<T>(host: string, work: () => Promise<T>, stopped: (at: { host: string; message: string }) => Error): Promise<T> {
    const result = this.tail.then(async () => {
      if (this.stoppedAt) throw stopped(this.stoppedAt);
      try {
        return await work();
      } catch (err) {
        this.stoppedAt = { host, message: err instanceof Error ? err.message : String(err) };
        throw err;
      }
    });
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

const queues = new Map<string, RollQueue>();

export function rollQueueOf(cluster: string): RollQueue {
  let q = queues.get(cluster);
  if (!q) queues.set(cluster, (q = new RollQueue()));
  return q;
}
