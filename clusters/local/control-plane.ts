import { join } from 'node:path';
import type { LocalClusterState } from './cluster-state.ts';
import type { ClusterLayout } from './layout.ts';
import { SERVICE_CLUSTER_IP_RANGE } from './pki-plan.ts';
import type { BinaryName } from '../tools/versions.ts';

/**
 * The command lines of a local control plane, in start order. Pure: state and layout in,
 * argument vectors out, so the exact flags are unit-tested and visible in one place.
 */

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

export interface ComponentSpec {
  readonly name: ComponentName;
  readonly binary: BinaryName;
  readonly args: readonly string[];
}

/** Annotation by which kwok picks the fake nodes it plays the kubelet for. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const POD_CIDR = '10.244.0.1/16';

/**
 * Node liveness. kwok without leases heartbeats node status only every 20-45 s (plus the
 * time to write it), past the controller-manager's default 50 s grace period now and then:
 * nodes flapped NotReady, got tainted, their pods evicted. kwok renews a Lease per node every
 * quarter of its duration instead (5 s here), six renewals within the grace period; the grace
 * period is shorter than upstream's so a dead kwok is noticed sooner.
 */
export const NODE_LEASE_SECONDS = 20;
export const NODE_MONITOR_GRACE_SECONDS = 30;

export function componentKubeconfigPath(layout: ClusterLayout, component: 'controller-manager' | 'scheduler' | 'kwok'): string {
  return join(layout.componentKubeconfigDir, `${component}.yaml`);
}

export function controlPlane(state: LocalClusterState, layout: ClusterLayout): readonly ComponentSpec[] {
  const pki = (file: string) => join(layout.pkiDir, file);
  const { ports } = state;
  const etcdClientUrl = `https://127.0.0.1:${ports.etcdClient}`;
  const etcdPeerUrl = `https://127.0.0.1:${ports.etcdPeer}`;
  return [
    {
      name: 'etcd',
      binary: 'etcd',
      args: [
        `--name=${state.name}`,
        `--data-dir=${layout.etcdDataDir}`,
        `--listen-client-urls=${etcdClientUrl}`,
        `--advertise-client-urls=${etcdClientUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=${state.name}=${etcdPeerUrl}`,
        `--cert-file=${pki('etcd.crt')}`,
        `--key-file=${pki('etcd.key')}`,
        `--trusted-ca-file=${pki('ca.crt')}`,
        '--client-cert-auth=true',
        `--peer-cert-file=${pki('etcd.crt')}`,
        `--peer-key-file=${pki('etcd.key')}`,
        `--peer-trusted-ca-file=${pki('ca.crt')}`,
        '--peer-client-cert-auth=true',
        '--log-level=warn',
        ...(state.unsafeNoFsync ? ['--unsafe-no-fsync=true'] : []),
      ],
    },
    {
      name: 'kube-apiserver',
      binary: 'kube-apiserver',
      args: [
        `--etcd-servers=${etcdClientUrl}`,
        `--etcd-cafile=${pki('ca.crt')}`,
        `--etcd-certfile=${pki('apiserver-etcd-client.crt')}`,
        `--etcd-keyfile=${pki('apiserver-etcd-client.key')}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        `--client-ca-file=${pki('ca.crt')}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        '--authorization-mode=RBAC',
        '--allow-privileged=true',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki('sa.pub')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        '--profiling=false',
      ],
    },
    {
      name: 'kube-controller-manager',
      binary: 'kube-controller-manager',
      args: [
        `--kubeconfig=${componentKubeconfigPath(layout, 'controller-manager')}`,
        '--secure-port=0',
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki('sa.key')}`,
        `--root-ca-file=${pki('ca.crt')}`,
        `--cluster-signing-cert-file=${pki('ca.crt')}`,
        `--cluster-signing-key-file=${pki('ca.key')}`,
        `--cluster-name=${state.name}`,
        `--node-monitor-grace-period=${NODE_MONITOR_GRACE_SECONDS}s`,
        '--profiling=false',
      ],
    },
    {
      name: 'kube-scheduler',
      binary: 'kube-scheduler',
      args: [
        `--kubeconfig=${componentKubeconfigPath(layout, 'scheduler')}`,
        '--secure-port=0',
        '--leader-elect=false',
        '--profiling=false',
      ],
    },
    {
      name: 'kwok',
      binary: 'kwok',
      args: [
        `--kubeconfig=${componentKubeconfigPath(layout, 'kwok')}`,
        // No stage config: kwok's built-in fast stages make nodes Ready and pods Running.
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        `--cidr=${POD_CIDR}`,
        `--node-lease-duration-seconds=${NODE_LEASE_SECONDS}`,
        '--node-ip=127.0.0.1',
        `--server-address=127.0.0.1:${ports.kwok}`,
      ],
    },
  ];
}
