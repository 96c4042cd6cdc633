import { afterEach, describe, expect, it, vi } from 'vitest';
import { EtcdSnapshotError, LockHeldError, SnapshotInvalidError } from '../../clusters/errors.ts';
import { exitCodeFor } from '../../cli/main.ts';
import { EngineError } from '../../modules/engine/engine.ts';
import { AbortError, isAbort } from '../../stacks/errors.ts';

afterEach(() => vi.restoreAllMocks());

describe('exit codes', () => {
  it('an interrupted operation ends 130 however the abort surfaced', () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const idle = new AbortController().signal;
    const aborted = AbortSignal.abort(new AbortError('interrupted'));
    expect(exitCodeFor(new Error('interrupted'), idle)).toBe(130);
    expect(exitCodeFor(new AbortError('interrupted'), idle)).toBe(130);
    expect(exitCodeFor(new DOMException('This operation was aborted', 'AbortError'), idle)).toBe(130);
    expect(exitCodeFor(new EngineError('update canceled', { cause: new Error('interrupted') }), idle)).toBe(130);
    // Once the user pressed Ctrl-C, whatever error unwinds the command is part of stopping.
    expect(exitCodeFor(new EngineError('the engine was killed'), aborted)).toBe(130);
  });

  it('other failures keep their own codes; a bug is 70', () => {
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const idle = new AbortController().signal;
    expect(exitCodeFor(new LockHeldError('locked'), idle)).toBe(7);
    expect(exitCodeFor(new EngineError('failed'), idle)).toBe(12);
    expect(exitCodeFor(new EtcdSnapshotError('etcdctl failed'), idle)).toBe(30);
    expect(exitCodeFor(new SnapshotInvalidError('checksum mismatch'), idle)).toBe(31);
    expect(exitCodeFor(new TypeError('x is undefined'), idle)).toBe(70);
    expect(isAbort(new Error('interrupted while waiting'))).toBe(true);
    expect(isAbort(new Error('connection reset'))).toBe(false);
  });
});
