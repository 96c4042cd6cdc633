import { describe, expect, it } from 'vitest';
import { HostParallelism, forEachHost } from '../../modules/hosts/parallelism.ts';
import { commandLine, describeCommand, shellQuote } from '../../modules/hosts/shell-quote.ts';
import { LineSplitter } from '../../modules/hosts/host-lines.ts';
import { parseRemoteFileState, planUpload } from '../../modules/hosts/upload-plan.ts';

describe('shell quoting', () => {
  it('quotes every argument that the remote shell could interpret', () => {
    expect(shellQuote('plain/path-1.2')).toBe('plain/path-1.2');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's $(x) `y` *")).toBe(`'it'\\''s $(x) \`y\` *'`);
    expect(commandLine(['systemctl', 'restart', 'a b'], true)).toBe("sudo -n -- systemctl restart 'a b'");
    expect(commandLine({ script: 'cat -- "$1"', args: ['/x y'] }, false)).toBe(`sh -c 'cat -- "$1"' sh '/x y'`);
    expect(describeCommand({ script: 'test -f "$1"\necho', args: ['/e'] })).toBe(`sh -c 'test -f "$1"' /e`);
  });
});

describe('line splitting', () => {
  it('emits whole lines across chunks and the last partial line on flush', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    s.push('a\r\nb');
    s.push('c\nd');
    s.flush();
    expect(got).toEqual(['a', 'bc', 'd']);
  });
});

describe('upload plan', () => {
  const sha = 'ab'.repeat(32);
  it('writes when missing or different, fixes only attributes, skips when all match', () => {
    expect(planUpload({ sha256: sha }, undefined).kind).toBe('write');
    expect(planUpload({ sha256: sha }, { sha256: 'cd'.repeat(32), mode: '644', owner: 'root:root' }).kind).toBe('write');
    expect(planUpload({ sha256: sha, mode: '0600' }, { sha256: sha, mode: '600', owner: 'root:root' }).kind).toBe('skip');
    expect(planUpload({ sha256: sha, mode: '0600' }, { sha256: sha, mode: '644', owner: 'root:root' }).kind).toBe('attributes');
    expect(planUpload({ sha256: sha, owner: 'etcd' }, { sha256: sha, mode: '644', owner: 'etcd:etcd' }).kind).toBe('skip');
    expect(planUpload({ sha256: sha, owner: 'etcd:root' }, { sha256: sha, mode: '644', owner: 'etcd:etcd' }).kind).toBe('attributes');
    expect(parseRemoteFileState('')).toBeUndefined();
    expect(parseRemoteFileState(`${sha} 755 root:root\n`)).toEqual({ sha256: sha, mode: '755', owner: 'root:root' });
  });
});

describe('parallelism across hosts', () => {
  it('never runs more than the limit at once, and one failure does not stop the others', async () => {
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const hosts = Array.from({ length: 7 }, (_, i) => `h${i}`);
    const done = forEachHost(
      hosts,
      async (h) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => gates.push(r));
        running--;
        if (h === 'h3') throw new Error('boom');
        return h.toUpperCase();
      },
      { parallelism: new HostParallelism(3) },
    );
    // Release one waiting host at a time until every host has run.
    for (let released = 0; released < hosts.length; released++) {
      await expect.poll(() => gates.length).toBeGreaterThan(0);
      gates.shift()?.();
    }
    const outcomes = await done;
    expect(peak).toBe(3);
    expect(outcomes.map((o) => (o.ok ? o.value : `error:${(o.error as Error).message}`))).toEqual(['H0', 'H1', 'H2', 'error:boom', 'H4', 'H5', 'H6']);
  });

  it('a waiting host stops when the run is aborted', async () => {
    const limit = new HostParallelism(1);
    let release!: () => void;
    const first = limit.run(() => new Promise<void>((r) => (release = r)));
    const ac = new AbortController();
    const second = limit.run(async () => 'ran', ac.signal);
    ac.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    release();
    await first;
    expect(await limit.run(async () => 'free again')).toBe('free again');
  });
});
