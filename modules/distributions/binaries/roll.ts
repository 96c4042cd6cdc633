/**
 * One node at a time during an upgrade: updates of a cluster's members queue here, and the
 * first that fails stops the roll, so the nodes behind it keep their old version and the error
 * says where it stopped. One queue per cluster and per engine run (the provider process).
 *
 * A member takes its place when its update arrives (`enter`, synchronous), before anything it
 * awaits, so the roll goes in the order the engine asks and not in the order of local I/O; a
 * member that turns out to need no roll (`skip`) gives its place up without running.
 */
export interface RollTurn {
  run<T>(work: () => Promise<T>, stopped: (at: { host: string; message: string }) => Error): Promise<T>;
  skip(): void;
}

export class RollQueue {
  private tail: Promise<void> = Promise.resolve();
  private stoppedAt: { host: string; message: string } | undefined;

  enter(host: string): RollTurn {
    const before = this.tail;
    let done!: () => void;
    this.tail = new Promise<void>((resolve) => (done = resolve));
    let used = false;
    const once = () => {
      if (used) throw new Error(`roll turn of ${host} used twice`);
      used = true;
    };
    return {
      run: async <T>(work: () => Promise<T>, stopped: (at: { host: string; message: string }) => Error): Promise<T> => {
        once();
        try {
          await before;
          if (this.stoppedAt) throw stopped(this.stoppedAt);
          try {
            return await work();
          } catch (err) {
            this.stoppedAt = { host, message: describe(err) };
            throw err;
          }
        } finally {
          done();
        }
      },
      skip: () => {
        once();
        void before.then(done);
      },
    };
  }

  /** Runs `work` after every earlier update of the cluster; refuses once the roll stopped. */
  run<T>(host: string, work: () => Promise<T>, stopped: (at: { host: string; message: string }) => Error): Promise<T> {
    return this.enter(host).run(work, stopped);
  }
}

/** The error's `where` (host) before its message, when it has one (InfraError). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const where = (err as { where?: unknown }).where;
  return typeof where === 'string' && where ? `${where}: ${err.message}` : err.message;
}

const queues = new Map<string, RollQueue>();

export function rollQueueOf(cluster: string): RollQueue {
  let q = queues.get(cluster);
  if (!q) queues.set(cluster, (q = new RollQueue()));
  return q;
}
