import { describe, expect, it } from 'vitest';
import { WorkQueue, type Job, type JobOutcome } from '../../reconciler/serve/work-queue.ts';
import { flush, ManualClock } from '../harness/manual-clock.ts';

/** The serve work queue: per-key serialization, coalescing to the newest revision, backoff, exclusive rounds, stop. */

interface Gate {
  job: Job;
  finish: (o?: JobOutcome) => void;
}

function harness(concurrency = 4) {
  const clock = new ManualClock();
  const started: Gate[] = [];
  const running = new Map<string, number>();
  let maxPerKey = 0;
  const queue = new WorkQueue({
    backoff: clock,
    concurrency,
    run: ([job]) =>
      new Promise<ReadonlyMap<string, JobOutcome>>((resolve) => {
        if (!job) throw new Error('empty batch');
        const n = (running.get(job.key) ?? 0) + 1;
        running.set(job.key, n);
        maxPerKey = Math.max(maxPerKey, n);
        started.push({
          job,
          finish: (o = { kind: 'done' }) => {
            running.set(job.key, (running.get(job.key) ?? 1) - 1);
            resolve(new Map([[job.key, o]]));
          },
        });
      }),
  });
  return { clock, queue, started, maxPerKey: () => maxPerKey, active: () => [...running.values()].reduce((a, b) => a + b, 0) };
}

describe('serve work queue', () => {
  it('coalesces a burst into one job of the newest revision, and runs one job per app at a time', async () => {
    const h = harness();
    for (let i = 1; i <= 10; i++) {
      h.queue.add('web', { revision: `c${i}`, reason: i % 2 ? 'webhook' : 'poll' });
      if (i === 1) await flush();
    }
    await flush();
    expect(h.started).toHaveLength(1);
    expect(h.started[0]?.job.revision).toBe('c1');
    h.started[0]?.finish();
    await flush();
    expect(h.started, 'the nine triggers that came while c1 ran are ONE job').toHaveLength(2);
    expect(h.started[1]?.job).toMatchObject({ revision: 'c10', reasons: ['poll', 'webhook'], attempt: 0 });
    h.started[1]?.finish();
    await h.queue.idle();
    expect(h.started).toHaveLength(2);
    expect(h.maxPerKey()).toBe(1);
  });

  it('runs different apps side by side, up to the concurrency', async () => {
    const h = harness(2);
    for (const k of ['a', 'b', 'c']) h.queue.add(k, { reason: 'poll' });
    await flush();
    expect(h.started.map((g) => g.job.key)).toEqual(['a', 'b']);
    expect(h.queue.depth).toBe(1);
    h.started[0]?.finish();
    await flush();
    expect(h.started.map((g) => g.job.key)).toEqual(['a', 'b', 'c']);
  });

  it('retries a failed job with exponential backoff on the injected clock', async () => {
    const h = harness();
    h.queue.add('web', { revision: 'c1', reason: 'webhook' });
    await flush();
    h.started[0]?.finish({ kind: 'retry', why: 'cluster unreachable' });
    await flush();
    // baseMs 100, random 0.5: attempt 0 waits 75ms, attempt 1 150ms.
    await h.clock.advance(74);
    expect(h.started).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.started).toHaveLength(2);
    expect(h.started[1]?.job).toMatchObject({ revision: 'c1', attempt: 1 });
    h.started[1]?.finish({ kind: 'retry', why: 'still unreachable' });
    await flush();
    await h.clock.advance(149);
    expect(h.started).toHaveLength(2);
    await h.clock.advance(1);
    expect(h.started[2]?.job).toMatchObject({ revision: 'c1', attempt: 2 });
    h.started[2]?.finish();
    await h.queue.idle();
    expect(h.clock.sleepers, 'a job that succeeded is not retried').toBe(0);
  });

  it('new work for an app in backoff starts at once, keeping the announced commit', async () => {
    const h = harness();
    h.queue.add('web', { revision: 'c1', reason: 'webhook' });
    await flush();
    h.started[0]?.finish({ kind: 'retry', why: 'commit c1 not fetchable yet' });
    await flush();
    expect(h.clock.sleepers).toBe(1);
    h.queue.add('web', { reason: 'poll' });
    await flush();
    expect(h.started).toHaveLength(2);
    expect(h.started[1]?.job).toMatchObject({ revision: 'c1', reasons: ['webhook', 'poll'], attempt: 0 });
    expect(h.clock.sleepers, 'the retry sleep was cancelled').toBe(0);
  });

  it('a trigger during a run supersedes that run’s retry', async () => {
    const h = harness();
    h.queue.add('web', { revision: 'c1', reason: 'webhook' });
    await flush();
    h.queue.add('web', { revision: 'c2', reason: 'webhook' });
    h.started[0]?.finish({ kind: 'retry', why: 'failed' });
    await flush();
    expect(h.started).toHaveLength(2);
    expect(h.started[1]?.job.revision).toBe('c2');
    expect(h.clock.sleepers).toBe(0);
  });

  it('an exclusive job waits for the running ones and holds back those behind it', async () => {
    const h = harness();
    h.queue.add('a', { reason: 'poll' });
    h.queue.add(' stack', { reason: 'stack changed' }, { exclusive: true });
    h.queue.add('b', { reason: 'poll' });
    await flush();
    expect(h.started.map((g) => g.job.key)).toEqual(['a']);
    h.started[0]?.finish();
    await flush();
    expect(h.started.map((g) => g.job.key)).toEqual(['a', ' stack']);
    h.queue.add('a', { reason: 'poll' });
    await flush();
    expect(h.active(), 'nothing runs beside the exclusive job').toBe(1);
    h.started[1]?.finish();
    await flush();
    expect(h.started.map((g) => g.job.key).sort()).toEqual([' stack', 'a', 'a', 'b']);
  });

  it('stop drops waiting work, cancels retries and resolves once the running jobs finish', async () => {
    const h = harness(1);
    h.queue.add('a', { reason: 'poll' });
    h.queue.add('b', { reason: 'poll' });
    h.queue.add('c', { reason: 'poll' });
    await flush();
    let stopped = false;
    const stopping = h.queue.stop().then(() => (stopped = true));
    h.queue.add('d', { reason: 'webhook' });
    await flush();
    expect(stopped, 'the running job is finished first').toBe(false);
    h.started[0]?.finish({ kind: 'retry', why: 'x' });
    await stopping;
    await flush();
    expect(h.started.map((g) => g.job.key)).toEqual(['a']);
    expect(h.clock.sleepers).toBe(0);
  });

  it('a job that throws is retried like a failure', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const errors: unknown[] = [];
    const queue = new WorkQueue({
      backoff: clock,
      concurrency: 1,
      run: async () => {
        runs++;
        if (runs === 1) throw new Error('boom');
        return new Map();
      },
      onError: (_job, err) => errors.push(err),
    });
    queue.add('a', { reason: 'poll' });
    await flush();
    expect(errors).toHaveLength(1);
    await clock.advance(75);
    await queue.idle();
    expect(runs).toBe(2);
  });

  it('starts the ready jobs of one group as one batch, each key still one at a time', async () => {
    const clock = new ManualClock();
    const batches: { keys: string[]; finish: (o: ReadonlyMap<string, JobOutcome>) => void }[] = [];
    const queue = new WorkQueue({
      backoff: clock,
      concurrency: 1,
      batchOf: (key) => (key.startsWith('a') ? 'source-a' : undefined),
      run: (jobs) => new Promise((resolve) => batches.push({ keys: jobs.map((j) => j.key), finish: resolve })),
    });
    queue.add('a0', { reason: 'push' });
    await flush();
    // One trigger queues its apps in one go: they start as one batch.
    queue.add('a1', { reason: 'push' });
    queue.add('a2', { reason: 'push' });
    queue.add('b1', { reason: 'push' });
    queue.add('a3', { reason: 'push' });
    await flush();
    expect(batches.map((b) => b.keys)).toEqual([['a0']]);
    batches[0]?.finish(new Map());
    await flush();
    expect(batches.map((b) => b.keys), 'a1, a2, a3 go together; b1 alone').toEqual([['a0'], ['a1', 'a2', 'a3']]);
    queue.add('a1', { reason: 'push' });
    batches[1]?.finish(new Map([['a3', { kind: 'retry', why: 'cluster unreachable' }]]));
    await flush();
    expect(batches.map((b) => b.keys)).toEqual([['a0'], ['a1', 'a2', 'a3'], ['b1']]);
    batches[2]?.finish(new Map());
    await flush();
    expect(batches[3]?.keys, 'the a1 that came during the run').toEqual(['a1']);
    batches[3]?.finish(new Map());
    await clock.advance(75);
    expect(batches[4]?.keys, 'only the key that asked is retried').toEqual(['a3']);
  });
});
