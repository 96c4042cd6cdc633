import type { CertificateRequest } from '../../../clusters/local/pki-plan.ts';
import type { BinariesTopology } from './topology.ts';

/**
 * The certificates of a `binaries` cluster: pure data, issued by clusters/local/pki.ts. Every
 * component talks TLS and verifies its peer against the cluster CA; each etcd member and each
 * kubelet has its own identity, so one can be removed without re-issuing the others.
 */

export function clusterCertificates(t: BinariesTopology): readonly CertificateRequest[] {
  const cpNames = t.controlPlanes.map((h) => h.name);
  const cpAddresses = t.controlPlanes.map((h) => h.address);
  return [
    {
      file: 'apiserver',
      commonName: 'kube-apiserver',
      usages: ['server'],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${t.clusterDomain}`, ...cpNames],
      ipAddresses: ['127.0.0.1', t.kubernetesServiceIp, ...cpAddresses],
    },
    client('apiserver-etcd-client', 'kube-apiserver-etcd-client'),
    // The apiserver calls kubelets (logs, exec) as a cluster admin.
    client('apiserver-kubelet-client', 'kube-apiserver-kubelet-client', 'system:masters'),
    client('admin', 'infra-admin', 'system:masters'),
    client('controller-manager', 'system:kube-controller-manager'),
    client('scheduler', 'system:kube-scheduler'),
    ...t.controlPlanes.flatMap((h) => etcdMember(h.name, h.address)),
    ...t.workers.flatMap((n) => kubelet(n.name, n.address)),
  ];
}

export function etcdMember(host: string, address: string): CertificateRequest[] {
  const names = { dnsNames: ['localhost', host], ipAddresses: ['127.0.0.1', address] };
  return [
    { file: `etcd-server-${host}`, commonName: host, usages: ['server', 'client'], ...names },
    { file: `etcd-peer-${host}`, commonName: host, usages: ['server', 'client'], ...names },
  ];
}

/** A pre-made client identity (no bootstrap tokens: the Node authorizer knows it by name) and a serving cert. */
export function kubelet(node: string, address: string): CertificateRequest[] {
  return [
    client(`kubelet-${node}`, `system:node:${node}`, 'system:nodes'),
    { file: `kubelet-serving-${node}`, commonName: `system:node:${node}`, organization: 'system:nodes', usages: ['server'], dnsNames: [node], ipAddresses: [address] },
  ];
}

function client(file: string, commonName: string, organization?: string): CertificateRequest {
  return { file, commonName, ...(organization ? { organization } : {}), usages: ['client'], dnsNames: [], ipAddresses: [] };
}
