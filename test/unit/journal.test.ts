import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../reconciler/sync/group-commit.ts';
import { decodeEntry, encodeEntry } from '../../reconciler/status/journal-store.ts';

/** A write that the test finishes by hand, recording each batch. */
function manualWrites() {
  const batches: Map<string, string | null>[] = [];
  const finishers: ((err?: Error) => void)[] = [];
  const write = (batch: ReadonlyMap<string, string | null>) =>
    new Promise<void>((resolve, reject) => {
      batches.push(new Map(batch));
      finishers.push((err) => (err ? reject(err) : resolve()));
    });
  const finish = async (err?: Error) => {
    finishers.shift()?.(err);
    await new Promise((r) => setImmediate(r));
  };
  return { batches, write, finish };
}

describe('group commit', () => {
  it('writes what arrives during a write in one next write, and resolves each caller after its own batch', async () => {
    const w = manualWrites();
    const gc = new GroupCommit<string, string | null>(w.write);
    const done: string[] = [];
    const a = gc.submit('a', '1').then(() => done.push('a'));
    await new Promise((r) => setImmediate(r));
    const b = gc.submit('b', '2').then(() => done.push('b'));
    const c = gc.submit('c', '3').then(() => done.push('c'));
    gc.enqueue('old', null);
    expect(w.batches).toEqual([new Map([['a', '1']])]);
    await w.finish();
    expect(done).toEqual(['a']);
    expect(w.batches[1]).toEqual(new Map<string, string | null>([['b', '2'], ['c', '3'], ['old', null]]));
    await w.finish();
    await Promise.all([a, b, c]);
    expect(done).toEqual(['a', 'b', 'c']);
    expect(w.batches).toHaveLength(2);
  });

  it('rejects the callers of a failed write, and later writes go on', async () => {
    const w = manualWrites();
    const gc = new GroupCommit<string, string | null>(w.write);
    const a = expect(gc.submit('a', '1')).rejects.toThrow('apiserver down');
    await new Promise((r) => setImmediate(r));
    await w.finish(new Error('apiserver down'));
    await a;
    const b = gc.submit('b', '2');
    await new Promise((r) => setImmediate(r));
    await w.finish();
    await b;
    expect(w.batches.map((m) => [...m.keys()])).toEqual([['a'], ['b']]);
  });

  it('flush writes changes that only rode along, and writes nothing when nothing is queued', async () => {
    const w = manualWrites();
    const gc = new GroupCommit<string, string | null>(w.write);
    await gc.flush();
    expect(w.batches).toHaveLength(0);
    gc.enqueue('a', null);
    const f = gc.flush();
    await new Promise((r) => setImmediate(r));
    await w.finish();
    await f;
    expect(w.batches).toEqual([new Map([['a', null]])]);
  });
});

describe('journal entries', () => {
  it('round-trip, and an entry that does not parse reads as absent', () => {
    const objects = [
      { apiVersion: 'v1', key: '/ConfigMap/web/a' },
      { apiVersion: 'apps/v1', key: 'apps/Deployment/web/b' },
    ];
    expect(decodeEntry(encodeEntry(objects))).toEqual(objects);
    expect(decodeEntry('{not json')).toBeUndefined();
    expect(decodeEntry('{"a":1}')).toBeUndefined();
    expect(decodeEntry('[["v1","/ConfigMap/web/a"],[1,2]]')).toEqual([objects[0]]);
  });
});
