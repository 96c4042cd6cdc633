import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RestoreJournal } from '../../clusters/etcd/restore-plan.ts';
import type { HostCommand, RemoteHost, RunOptions, RunResult, UploadOptions, UploadResult } from '../../modules/hosts/index.ts';
import { repairOverSsh, restoreOverSsh, snapshotOverSsh } from '../../modules/distributions/binaries/etcd-snapshot/remote-etcd.ts';
import { clusterRepairPlan, PROBE_SCRIPT, REMOTE_PATHS, type MemberState } from '../../modules/distributions/binaries/etcd-snapshot/remote-etcd-plan.ts';
import type { BinariesTopology } from '../../modules/distributions/binaries/topology.ts';

/**
 * etcd snapshot/restore of a `binaries` cluster: the order of its steps across members and
 * what the next run does after a cut, against hosts that model a member's directories, journal
 * and units. (The real test hosts run them once the binaries distribution is up: see README.)
 */

class FakeMember implements RemoteHost {
  readonly user = 'root';
  mutations = 0;
  dirs = new Set<string>([REMOTE_PATHS.data]);
  files = new Map<string, Buffer>();
  running = new Set<string>(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  failRestore = false;
  readonly name: string;
  private readonly log: string[];
  constructor(name: string, log: string[]) {
    this.name = name;
    this.log = log;
  }

  async run(command: HostCommand, options: RunOptions = {}): Promise<RunResult> {
    if (options.mutating) this.mutations++;
    if ('script' in command) {
      expect(command.script).toBe(PROBE_SCRIPT);
      const [journal, ...dirs] = command.args ?? [];
      const text = this.files.get(journal ?? '')?.toString() ?? '';
      return { code: 0, stdout: `${text}\n${dirs.map((d) => (this.dirs.has(d) ? '1' : '0')).join('\n')}\n`, stderr: '' };
    }
    const argv = [...command];
    const [bin, ...args] = argv;
    this.log.push(`${this.name}: ${(options.step ?? argv.join(' '))}`);
    if (bin === REMOTE_PATHS.etcdutl && args[1] === 'restore') {
      if (this.failRestore) throw new Error(`${this.name}: etcdutl failed`);
      this.dirs.add(REMOTE_PATHS.fresh);
    } else if (bin === REMOTE_PATHS.etcdctl && args.includes('save')) {
      this.files.set(args.at(-1) ?? '', Buffer.from('snapshot bytes'));
    } else if (bin === 'rm') {
      for (const p of args.filter((a) => !a.startsWith('-'))) {
        this.dirs.delete(p);
        this.files.delete(p);
      }
    } else if (bin === 'mv') {
      const [from, to] = args as [string, string];
      expect(this.dirs.has(to)).toBe(false);
      expect(this.running.has('etcd')).toBe(false);
      // The restored member leaves its (now empty) parent behind, as on a real host.
      if (from === REMOTE_PATHS.freshMember) expect(this.dirs.has(REMOTE_PATHS.fresh)).toBe(true);
      else this.dirs.delete(from);
      this.dirs.add(to);
    } else if (bin === 'systemctl') {
      for (const unit of args.slice(1)) args[0] === 'stop' ? this.running.delete(unit) : this.running.add(unit);
    } else if (bin === REMOTE_PATHS.etcdctl && args.includes('health')) {
      return { code: this.running.has('etcd') ? 0 : 1, stdout: '', stderr: '' };
    } else if (bin === '/usr/local/bin/kubectl') {
      return { code: this.running.has('kube-apiserver') ? 0 : 1, stdout: '', stderr: '' };
    }
    return { code: 0, stdout: '', stderr: '' };
  }

  async upload(source: string | Buffer, remotePath: string, options: UploadOptions = {}): Promise<UploadResult> {
    this.mutations++;
    this.log.push(`${this.name}: ${options.step ?? `upload ${remotePath}`}`);
    const bytes = Buffer.isBuffer(source) ? source : Buffer.from(source);
    this.files.set(remotePath, bytes);
    return { action: 'write', sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async readFile(remotePath: string): Promise<Buffer> {
    return this.files.get(remotePath) ?? Buffer.alloc(0);
  }

  async fileSha256(remotePath: string): Promise<string | undefined> {
    const b = this.files.get(remotePath);
    return b ? createHash('sha256').update(b).digest('hex') : undefined;
  }

  async close(): Promise<void> {}

  journal(): RestoreJournal | undefined {
    const b = this.files.get(REMOTE_PATHS.journal);
    return b ? (JSON.parse(b.toString()) as RestoreJournal) : undefined;
  }
}

const topology: BinariesTopology = {
  cluster: 'prod',
  version: '1.34.4',
  controlPlanes: ['cp-1', 'cp-2', 'cp-3'].map((name, i) => ({ name, address: `10.213.0.${11 + i}`, user: 'root', port: 22 })),
  workers: [],
  apiserverUrl: 'https://10.213.0.11:6443',
  serviceCidr: '10.96.0.0/16',
  kubernetesServiceIp: '10.96.0.1',
  clusterCidr: '10.244.0.0/16',
  clusterDomain: 'cluster.local',
};

let dir: string;
let tools: { etcdctl: string; etcdutl: string };
let snapshot: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-etcd-ssh-'));
  // Only `snapshot status` runs locally: a script that answers like etcdutl.
  const etcdutl = join(dir, 'etcdutl');
  await writeFile(etcdutl, '#!/bin/sh\necho \'{"hash":1,"revision":42,"totalKey":7,"totalSize":4096}\'\n', { mode: 0o755 });
  tools = { etcdctl: join(dir, 'etcdctl'), etcdutl };
  snapshot = join(dir, 'prod.db');
  await writeFile(snapshot, 'snapshot bytes', { mode: 0o600 });
  await writeFile(`${snapshot}.sha256`, `${createHash('sha256').update('snapshot bytes').digest('hex')}  prod.db\n`);
});

const fleet = (log: string[]) => topology.controlPlanes.map((h) => new FakeMember(h.name, log));
const index = (log: string[], entry: string) => log.indexOf(entry);
const lastOf = (log: string[], pred: (l: string) => boolean) => log.reduce((at, l, i) => (pred(l) ? i : at), -1);
const firstOf = (log: string[], pred: (l: string) => boolean) => log.findIndex(pred);

describe('etcd restore over SSH (3 members)', () => {
  it('restores on every member before stopping any; swaps only with everything stopped; etcd everywhere before the apiservers; old data removed last', async () => {
    const log: string[] = [];
    const hosts = fleet(log);
    const r = await restoreOverSsh(topology, hosts, snapshot, { tools, readyTimeoutMs: 2_000 });
    expect(r).toMatchObject({ cluster: 'prod', revision: 42, members: ['cp-1', 'cp-2', 'cp-3'] });

    const lastRestore = lastOf(log, (l) => l.endsWith('etcdutl snapshot restore'));
    const firstStop = firstOf(log, (l) => l.endsWith('stop the control plane'));
    const lastMove = lastOf(log, (l) => l.endsWith('move the restored etcd data in'));
    const firstEtcdStart = firstOf(log, (l) => l.endsWith('start etcd'));
    const lastEtcdStart = lastOf(log, (l) => l.endsWith('start etcd'));
    const firstRestStart = firstOf(log, (l) => l.endsWith('start the control plane'));
    const firstCleanup = firstOf(log, (l) => l.endsWith('remove the data from before the restore'));
    expect(lastRestore).toBeLessThan(firstStop);
    const firstMove = firstOf(log, (l) => l.endsWith('move the old etcd data aside'));
    for (const h of hosts) expect(index(log, `${h.name}: stop the control plane`)).toBeLessThan(firstMove);
    expect(lastMove).toBeLessThan(firstEtcdStart);
    expect(lastEtcdStart).toBeLessThan(firstRestStart);
    expect(lastOf(log, (l) => l.endsWith('start the control plane'))).toBeLessThan(firstCleanup);
    for (const h of hosts) {
      expect(log).toContain(`${h.name}: etcdutl snapshot restore`);
      expect([...h.dirs]).toEqual([REMOTE_PATHS.data]);
      expect(h.journal()).toBeUndefined();
      expect([...h.running].sort()).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
    }
  });

  it('one member failing to restore: the next run rolls every member back, nothing was stopped or moved', async () => {
    const log: string[] = [];
    const hosts = fleet(log);
    (hosts[1] as FakeMember).failRestore = true;
    await expect(restoreOverSsh(topology, hosts, snapshot, { tools, readyTimeoutMs: 2_000 })).rejects.toThrow(/cp-2: etcdutl failed/);
    expect(log.some((l) => l.endsWith('stop the control plane'))).toBe(false);
    expect(hosts.map((h) => h.journal()?.phase)).toEqual(['restored', 'restoring', 'restored']);

    expect(await repairOverSsh(hosts)).toBe('rollback');
    for (const h of hosts) {
      expect([...h.dirs]).toEqual([REMOTE_PATHS.data]);
      expect(h.journal()).toBeUndefined();
      expect(h.running.has('etcd')).toBe(true);
    }
  });

  it('a cut in the middle of the swap (one member swapped, one half, one not): the next run finishes it on all', async () => {
    const log: string[] = [];
    const hosts = fleet(log);
    const journal = (phase: RestoreJournal['phase']) => Buffer.from(JSON.stringify({ phase, snapshot, sha256: 'x', startedAt: 't' }));
    const [a, b, c] = hosts as [FakeMember, FakeMember, FakeMember];
    for (const h of hosts) h.running.clear();
    a.dirs = new Set([REMOTE_PATHS.data, REMOTE_PATHS.old]);
    a.files.set(REMOTE_PATHS.journal, journal('swapped'));
    b.dirs = new Set([REMOTE_PATHS.old, REMOTE_PATHS.fresh]);
    b.files.set(REMOTE_PATHS.journal, journal('restored'));
    c.dirs = new Set([REMOTE_PATHS.data, REMOTE_PATHS.fresh]);
    c.files.set(REMOTE_PATHS.journal, journal('restored'));

    expect(await repairOverSsh(hosts)).toBe('forward');
    expect([...a.dirs].sort()).toEqual([REMOTE_PATHS.data, REMOTE_PATHS.old]);
    for (const h of [b, c]) expect([...h.dirs].sort()).toEqual([REMOTE_PATHS.data, REMOTE_PATHS.old, REMOTE_PATHS.fresh].sort());
    for (const h of hosts) {
      expect(h.journal()?.phase).toBe('swapped');
    }
  });
});

describe('etcd snapshot over SSH', () => {
  it('saves on the first control-plane host, fetches the file checked against the host\'s SHA-256, publishes it 0600 and removes the remote copy', async () => {
    const log: string[] = [];
    const hosts = fleet(log);
    const out = join(dir, 'out', 'snap.db');
    const r = await snapshotOverSsh(topology, hosts, out, { tools });
    expect(r).toMatchObject({ host: 'cp-1', file: out, revision: 42, sha256: createHash('sha256').update('snapshot bytes').digest('hex') });
    expect(log.filter((l) => !l.startsWith('cp-1'))).toEqual([]);
    expect([...(hosts[0] as FakeMember).files.keys()].filter((p) => p.startsWith(REMOTE_PATHS.work))).toEqual([]);
  });
});

describe('which way a cut restore goes for a whole cluster', () => {
  const s = (host: string, phase: RestoreJournal['phase'] | undefined, data = true, fresh = false, old = false): MemberState => ({
    host,
    journal: phase ? { phase, snapshot: '/s.db', sha256: 'x', startedAt: 't' } : undefined,
    dirs: { data, fresh, old },
  });

  it('all members restored: forward', () => {
    expect(clusterRepairPlan([s('a', 'restored', true, true), s('b', 'restored', true, true)]).decision).toBe('forward');
  });

  it('one member still restoring (or without a journal): back, on every member', () => {
    const plan = clusterRepairPlan([s('a', 'restored', true, true), s('b', 'restoring', true, true), s('c', undefined)]);
    expect(plan.decision).toBe('rollback');
    expect(plan.steps.get('a')).toEqual(['remove-fresh', 'remove-journal']);
    expect(plan.steps.get('c')).toEqual([]);
  });

  it('no journal anywhere: nothing, or only debris removed', () => {
    expect(clusterRepairPlan([s('a', undefined), s('b', undefined)])).toMatchObject({ decision: 'none', says: undefined });
    expect(clusterRepairPlan([s('a', undefined, true, true)]).steps.get('a')).toEqual(['remove-fresh']);
  });
});
