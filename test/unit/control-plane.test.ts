import { describe, expect, it } from 'vitest';
import { STATE_API_VERSION, parseClusterState, type LocalClusterState } from '../../clusters/local/cluster-state.ts';
import { controlPlane } from '../../clusters/local/control-plane.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';

const state: LocalClusterState = {
  apiVersion: STATE_API_VERSION,
  kind: 'LocalCluster',
  name: 'demo',
  nodes: 2,
  ports: { apiserver: 6443, etcdClient: 2379, etcdPeer: 2380, kwok: 10247 },
  kubernetesVersion: '1.34.4',
  etcdVersion: '3.6.16',
  kwokVersion: '0.7.0',
  unsafeNoFsync: false,
  createdAt: '2026-11-22T00:00:00Z',
};
const layout = clusterLayout('demo', { INFRA_HOME: '/home/u/.infra' });

describe('local control plane command lines', () => {
  const specs = controlPlane(state, layout);
  const args = (name: string) => specs.find((s) => s.name === name)?.args ?? [];

  it('starts etcd, then the apiserver, then the rest', () => {
    expect(specs.map((s) => s.name)).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']);
  });

  it('binds everything to loopback with TLS and client certificates', () => {
    expect(args('etcd')).toContain('--listen-client-urls=https://127.0.0.1:2379');
    expect(args('etcd')).toContain('--client-cert-auth=true');
    expect(args('etcd')).toContain('--peer-client-cert-auth=true');
    expect(args('kube-apiserver')).toContain('--bind-address=127.0.0.1');
    expect(args('kube-apiserver')).toContain('--secure-port=6443');
    expect(args('kube-apiserver')).toContain('--etcd-servers=https://127.0.0.1:2379');
    expect(args('kube-apiserver')).toContain('--client-ca-file=/home/u/.infra/local/demo/pki/ca.crt');
    expect(args('kube-apiserver')).toContain('--authorization-mode=RBAC');
  });

  it('serves no extra ports from the controller-manager and scheduler', () => {
    expect(args('kube-controller-manager')).toContain('--secure-port=0');
    expect(args('kube-scheduler')).toContain('--secure-port=0');
  });

  it('names the cluster directory on every command line, so strays can be found', () => {
    for (const spec of specs) expect(spec.args.join(' ')).toContain(`${layout.dir}/`);
  });

  it('skips etcd fsync only when asked', () => {
    expect(args('etcd')).not.toContain('--unsafe-no-fsync=true');
    expect(controlPlane({ ...state, unsafeNoFsync: true }, layout)[0]?.args).toContain('--unsafe-no-fsync=true');
  });
});

describe('cluster.json parsing', () => {
  it('round-trips a valid state', () => {
    expect(parseClusterState(JSON.stringify(state))).toEqual(state);
  });

  it.each([
    ['{ broken', /not valid JSON/],
    ['[]', /expected apiVersion/],
    [JSON.stringify({ ...state, apiVersion: 'v0' }), /expected apiVersion/],
    [JSON.stringify({ ...state, ports: { ...state.ports, kwok: 70000 } }), /ports\.kwok/],
    [JSON.stringify({ ...state, nodes: -1 }), /nodes/],
  ])('explains what is wrong with %s', (text, problem) => {
    expect(parseClusterState(text)).toMatch(problem);
  });
});
