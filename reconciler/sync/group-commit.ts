/**
 * Group commit: many callers each submit a change and wait until it is durable; the changes
 * that arrive while one write is in flight go out together in the next write. A thousand apps
 * that each need a journal entry cost a few dozen writes, not a thousand, and none waits for
 * more than one write ahead of its own. Pure scheduling: the write itself is injected.
 */
export class GroupCommit<K, V> {
  private readonly write: (batch: ReadonlyMap<K, V>, signal?: AbortSignal) => Promise<void>;
  private queue = new Map<K, V>();
  /** The write that will take the queue as it is when it starts (not started yet). */
  private next: Promise<void> | undefined;
  /** The last write scheduled; the next one starts after it settles. */
  private tail: Promise<void> = Promise.resolve();

  constructor(write: (batch: ReadonlyMap<K, V>, signal?: AbortSignal) => Promise<void>) {
    this.write = write;
  }

  /** Queues a change for the next write without asking for one (it rides along). */
  enqueue(key: K, value: V): void {
    this.queue.set(key, value);
  }

  /** Queues a change and resolves once a write that includes it succeeded (rejects if that write failed). */
  submit(key: K, value: V, signal?: AbortSignal): Promise<void> {
    this.enqueue(key, value);
    return this.flush(signal);
  }

  /** Writes whatever is queued; resolves when it, and every write before it, has settled. */
  flush(signal?: AbortSignal): Promise<void> {
    if (this.next) return this.next;
    if (this.queue.size === 0) return this.tail.then(settled, settled);
    const run = this.tail.then(settled, settled).then(() => {
      this.next = undefined;
      const batch = this.queue;
      this.queue = new Map();
      return batch.size > 0 ? this.write(batch, signal) : undefined;
    });
    run.catch(settled); // its callers see the failure; the chain itself must not crash the process
    this.next = run;
    this.tail = run;
    return run;
  }

  /** Changes queued and not yet taken by a write. */
  get queued(): number {
    return this.queue.size;
  }
}

function settled(): void {}
