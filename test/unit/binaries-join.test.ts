import { describe, expect, it } from 'vitest';
import { decideJoin, initialCluster, joinEnvFile } from '../../modules/distributions/binaries/join-plan.ts';
import { parseMemberList } from '../../modules/distributions/binaries/effects/etcd-members.ts';

const url = (i: number) => `https://10.0.0.${i}:2380`;
const m = (name: string, i: number, healthy = true) => ({ name, peerURLs: [url(i)], healthy });
const cp3 = { name: 'cp3', peerURL: url(3) };

describe('a control-plane host joining a running etcd cluster', () => {
  it('bootstraps when no member answers, and does nothing for a started member', () => {
    expect(decideJoin(undefined, cp3, false)).toEqual({ kind: 'bootstrap' });
    expect(decideJoin([m('cp1', 1), m('cp2', 2), m('cp3', 3)], cp3, false)).toEqual({ kind: 'member' });
  });

  it('joins a host that is not a member (a removed one added back) with the current members and itself', () => {
    const d = decideJoin([m('cp1', 1), m('cp2', 2)], cp3, false);
    expect(d).toEqual({ kind: 'join', initialCluster: `cp1=${url(1)},cp2=${url(2)},cp3=${url(3)}` });
    expect(joinEnvFile(`cp1=${url(1)}`)).toBe(`ETCD_INITIAL_CLUSTER=cp1=${url(1)}\nETCD_INITIAL_CLUSTER_STATE=existing\n`);
  });

  it('resumes a join that added the member but stopped before it started; a listed unstarted member without a join is a bootstrap', () => {
    const members = [m('cp1', 1), m('cp2', 2), { name: '', peerURLs: [url(3)], healthy: false }];
    expect(decideJoin(members, cp3, true)).toEqual({ kind: 'resume', initialCluster: `cp1=${url(1)},cp2=${url(2)},cp3=${url(3)}` });
    expect(decideJoin(members, cp3, false)).toEqual({ kind: 'bootstrap' });
  });

  it('refuses when the running members would not be a majority of the grown cluster', () => {
    const d = decideJoin([m('cp1', 1), m('cp2', 2, false), m('cp4', 4, false)], cp3, false);
    expect(d.kind).toBe('refused');
    expect(d.kind === 'refused' && d.reason).toBe(`adding cp3 makes 4 members, of which a majority (3) must run, but only 1 are healthy besides it (down: cp2, cp4)`);
    expect(decideJoin([m('cp1', 1), m('cp2', 2, false)], cp3, false).kind).toBe('join');
    expect(decideJoin([m('cp1', 1)], { name: 'cp2', peerURL: url(2) }, false).kind).toBe('join');
  });

  it('refuses a member of the same name at another address', () => {
    expect(decideJoin([m('cp1', 1), m('cp3', 9)], cp3, false).kind).toBe('refused');
  });

  it('names unstarted members by their URL only and reads etcd’s member list with peer URLs', () => {
    expect(initialCluster([{ name: '', peerURLs: [url(3)], healthy: false }, m('cp1', 1)], { name: 'cp9', peerURL: url(9) })).toBe(`=${url(3)},cp1=${url(1)}`);
    const raw = '{"members":[{"ID":9372538179322589801,"name":"cp1","peerURLs":["https://10.0.0.1:2380"],"clientURLs":["https://10.0.0.1:2379"]},{"ID":1,"peerURLs":["https://10.0.0.3:2380"]}]}';
    expect(parseMemberList(raw)).toEqual([
      { name: 'cp1', hexId: '8211f1d0f64f3269', clientURLs: ['https://10.0.0.1:2379'], peerURLs: ['https://10.0.0.1:2380'] },
      { name: '', hexId: '1', peerURLs: ['https://10.0.0.3:2380'] },
    ]);
  });
});
