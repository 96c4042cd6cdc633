import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { batchCheckScript, stepsOutOfPlace } from '../../modules/distributions/binaries/member-plan.ts';
import { decideMemberRemoval, leaveOrder } from '../../modules/distributions/binaries/removal-plan.ts';

const m = (name: string, healthy = true) => ({ name, healthy });

describe('etcd member removal', () => {
  it('refuses the last member', () => {
    expect(decideMemberRemoval([m('cp1')], 'cp1')).toMatchObject({ allowed: false, reason: expect.stringMatching(/last etcd member/) });
  });

  it('allows 3 → 2 when the two left are healthy, refuses when one of them is down', () => {
    expect(decideMemberRemoval([m('a'), m('b'), m('c')], 'c')).toEqual({ allowed: true });
    expect(decideMemberRemoval([m('a'), m('b', false), m('c')], 'c')).toMatchObject({ allowed: false, reason: expect.stringMatching(/1 of 2 .* down: b/) });
  });

  it('allows removing the broken member itself while the rest keep a majority', () => {
    expect(decideMemberRemoval([m('a'), m('b'), m('c', false)], 'c')).toEqual({ allowed: true });
  });

  it('leaves the API first, etcd after, services last', () => {
    expect(leaveOrder({ controlPlane: false, node: true })).toEqual(['drain', 'delete-node', 'stop-services']);
    expect(leaveOrder({ controlPlane: true, node: true })).toEqual(['drain', 'delete-node', 'remove-etcd-member', 'stop-services']);
  });
});

describe('batched checks', () => {
  it('runs every check in one shell and reports the ones out of place (wait steps left out)', () => {
    const script = batchCheckScript([
      { id: 'file:/a', title: '', check: 'true', apply: [{ kind: 'run', script: 'x' }] },
      { id: 'service:s', title: '', check: '[ 1 = 2 ]', apply: [{ kind: 'run', script: 'x' }] },
      { id: 'wait:x', title: '', check: 'sleep 100', apply: [] },
    ]);
    const out = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(stepsOutOfPlace(out)).toEqual(['service:s']);
    expect(out).not.toContain('wait:x');
  });
});

describe('rolling one member at a time', () => {
  it('runs updates of a cluster one after another and stops the roll at the first failure', async () => {
    const { RollQueue } = await import('../../modules/distributions/binaries/roll.ts');
    const q = new RollQueue();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stopped = (at: { host: string }) => new Error(`stopped at ${at.host}`);
    const a = q.run('w1', async () => { log.push('w1 start'); await gate; log.push('w1 end'); }, stopped);
    const b = q.run('w2', async () => { log.push('w2 start'); throw new Error('kubelet not Ready'); }, stopped);
    const c = q.run('w3', async () => { log.push('w3 start'); }, stopped);
    release();
    await a;
    await expect(b).rejects.toThrow('kubelet not Ready');
    await expect(c).rejects.toThrow('stopped at w2');
    expect(log).toEqual(['w1 start', 'w1 end', 'w2 start']);
  });
});

describe('etcd member list', () => {
  it('keeps every bit of a uint64 member ID (a JSON number would not)', async () => {
    const { parseMemberList } = await import('../../modules/distributions/binaries/effects/etcd-members.ts');
    const raw = '{"header":{"cluster_id":17237436991929493444,"member_id":9372538179322589801},"members":[{"ID":9372538179322589801,"name":"cp1","clientURLs":["https://10.0.0.1:2379"]}]}';
    expect(parseMemberList(raw)).toEqual([{ name: 'cp1', hexId: '8211f1d0f64f3269', clientURLs: ['https://10.0.0.1:2379'] }]);
  });
});
