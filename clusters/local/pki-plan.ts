/**
 * What certificates a local control plane needs: pure data, turned into files by pki.ts.
 * Every component talks TLS and every client verifies the server against the cluster CA.
 */

export type Usage = 'server' | 'client';

export interface CertificateRequest {
  /** File stem: `<file>.crt` and `<file>.key`. */
  readonly file: string;
  readonly commonName: string;
  readonly organization?: string;
  readonly usages: readonly Usage[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** The in-cluster IP of the `kubernetes` Service: first address of the service range. */
export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
export const KUBERNETES_SERVICE_IP = '10.0.0.1';

const LOOPBACK = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };

export function localClusterCertificates(): readonly CertificateRequest[] {
  return [
    {
      file: 'apiserver',
      commonName: 'kube-apiserver',
      usages: ['server'],
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ipAddresses: ['127.0.0.1', KUBERNETES_SERVICE_IP],
    },
    { file: 'etcd', commonName: 'etcd', usages: ['server', 'client'], ...LOOPBACK },
    client('apiserver-etcd-client', 'kube-apiserver-etcd-client'),
    client('admin', 'infra-admin', 'system:masters'),
    client('controller-manager', 'system:kube-controller-manager'),
    client('scheduler', 'system:kube-scheduler'),
    // kwok plays every kubelet at once (nodes, leases, pod status): it needs broad rights.
    client('kwok', 'infra-kwok', 'system:masters'),
  ];
}

function client(file: string, commonName: string, organization?: string): CertificateRequest {
  return {
    file,
    commonName,
    ...(organization ? { organization } : {}),
    usages: ['client'],
    dnsNames: [],
    ipAddresses: [],
  };
}
