import { describe, expect, it } from 'vitest';
import { etcdctlSnapshotSaveArgs, etcdutlRestoreArgs, defaultSnapshotName, parseSnapshotStatus } from '../../clusters/etcd/etcd-commands.ts';
import { parseJournal, repairPlan, type RestoreJournal } from '../../clusters/etcd/restore-plan.ts';

/** A restore cut short at any moment: what the next run does, and etcd's command lines. Pure. */

const journal = (phase: RestoreJournal['phase']): RestoreJournal => ({ phase, snapshot: '/s/a.db', sha256: 'ab', startedAt: '2026-11-26T00:00:00.000Z' });

describe('repairing an interrupted restore', () => {
  it('nothing to do without a journal and debris', () => {
    expect(repairPlan(undefined, { data: true, fresh: false, old: false })).toEqual({ steps: [], says: undefined });
  });

  it('a half-written restore without a journal is removed, the data untouched', () => {
    expect(repairPlan(undefined, { data: true, fresh: true, old: false }).steps).toEqual(['remove-fresh']);
  });

  it('before the restored data is complete: roll back, the old data was never touched', () => {
    const plan = repairPlan(journal('restoring'), { data: true, fresh: true, old: false });
    expect(plan.steps).toEqual(['remove-fresh', 'remove-journal']);
    expect(plan.says).toMatch(/rolled back .*\/s\/a\.db/);
  });

  it('restored, nothing moved yet: stop, move the old data aside, the new in place', () => {
    expect(repairPlan(journal('restored'), { data: true, fresh: true, old: false }).steps).toEqual(['stop-all', 'move-data-to-old', 'move-fresh-to-data', 'mark-swapped']);
  });

  it('a crash between the two renames (no data dir at all) completes the swap instead of starting an empty etcd', () => {
    expect(repairPlan(journal('restored'), { data: false, fresh: true, old: true }).steps).toEqual(['stop-all', 'move-fresh-to-data', 'mark-swapped']);
  });

  it('both renames done, journal not yet updated: only mark it', () => {
    expect(repairPlan(journal('restored'), { data: true, fresh: false, old: true }).steps).toEqual(['stop-all', 'mark-swapped']);
  });

  it('swapped: nothing before start (the old data goes once the cluster is up)', () => {
    expect(repairPlan(journal('swapped'), { data: true, fresh: false, old: true }).steps).toEqual([]);
  });

  it('a journal that is not one is ignored', () => {
    expect(parseJournal('{')).toBeUndefined();
    expect(parseJournal('{"phase":"sideways","snapshot":"x","sha256":"y","startedAt":"z"}')).toBeUndefined();
    expect(parseJournal(JSON.stringify(journal('restored')))).toEqual(journal('restored'));
  });
});

describe('etcd tool command lines', () => {
  it('etcdctl saves over TLS with the client certificate', () => {
    expect(etcdctlSnapshotSaveArgs('https://127.0.0.1:2379', { caFile: '/p/ca.crt', certFile: '/p/c.crt', keyFile: '/p/c.key' }, '/o/s.db')).toEqual([
      '--endpoints=https://127.0.0.1:2379',
      '--cacert=/p/ca.crt',
      '--cert=/p/c.crt',
      '--key=/p/c.key',
      '--dial-timeout=10s',
      '--command-timeout=5m',
      'snapshot',
      'save',
      '/o/s.db',
    ]);
  });

  it('etcdutl restores the same member, moves the revision on and marks it compacted', () => {
    const m1 = { name: 'cp-1', peerUrl: 'https://10.0.0.1:2380' };
    const m2 = { name: 'cp-2', peerUrl: 'https://10.0.0.2:2380' };
    expect(etcdutlRestoreArgs('/s.db', '/var/lib/etcd.new', m2, [m1, m2])).toEqual([
      'snapshot',
      'restore',
      '/s.db',
      '--data-dir=/var/lib/etcd.new',
      '--name=cp-2',
      '--initial-advertise-peer-urls=https://10.0.0.2:2380',
      '--initial-cluster=cp-1=https://10.0.0.1:2380,cp-2=https://10.0.0.2:2380',
      '--bump-revision=1000000000',
      '--mark-compacted',
    ]);
  });

  it('reads the snapshot status, and says when it is not one', () => {
    expect(parseSnapshotStatus('{"hash":1,"revision":256,"totalKey":230,"totalSize":307200,"version":"3.6.0"}\n')).toEqual({ revision: 256, totalKeys: 230, totalSize: 307200 });
    expect(parseSnapshotStatus('Error: invalid database')).toMatch(/no JSON status: Error: invalid database/);
    expect(parseSnapshotStatus('{"hash":1}')).toMatch(/no revision/);
  });

  it('names a default snapshot by cluster and UTC time', () => {
    expect(defaultSnapshotName('prod', new Date('2026-11-26T03:04:05.678Z'))).toBe('prod-etcd-20261126T030405Z.db');
  });
});
