import type { KubeObject } from '../../reconciler/types.ts';
import { kwokLimits, type Addon, type AddonFacts, type AddonIssue } from './addon.ts';
import { clusterRole, clusterRoleBinding, configMap, labels, namespace, serviceAccount } from './objects.ts';

/**
 * Rook-Ceph: the operator (its CRDs for CephCluster and CephBlockPool, RBAC, Deployment), a
 * CephCluster whose OSDs are exactly the hosts' spare disks listed in the stack, a replicated
 * block pool (one replica per host) and a StorageClass through Ceph's RBD CSI driver.
 * The CRDs carry a permissive schema (infra writes the CRs; the operator checks them).
 */

export const ROOK_VERSION = 'v1.15.6';
export const ROOK_IMAGE = `docker.io/rook/ceph:${ROOK_VERSION}`;
export const CEPH_IMAGE = 'quay.io/ceph/ceph:v18.2.4';
export const ROOK_NAMESPACE = 'rook-ceph';
const NAME = 'rook-ceph';
const MIN_HOSTS = 3;

export function hostsWithDisks(f: AddonFacts) {
  return f.hosts.filter((h) => h.disks.length > 0);
}

function crd(plural: string, kind: string, short: string[]): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.ceph.rook.io`, labels: labels(NAME) },
    spec: {
      group: 'ceph.rook.io',
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List`, shortNames: short },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
        },
      ],
    },
  };
}

export const rookCeph: Addon = {
  name: NAME,
  kind: 'csi',
  version: ROOK_VERSION,
  wanted: (f) => f.csi === 'rook-ceph',
  validate(f): AddonIssue[] {
    const withDisks = hostsWithDisks(f);
    if (withDisks.length >= MIN_HOSTS) return [];
    const without = f.hosts.filter((h) => h.disks.length === 0).map((h) => h.name);
    const have = withDisks.length === 0 ? 'none has' : `only ${withDisks.map((h) => h.name).join(', ')} ${withDisks.length === 1 ? 'has' : 'have'}`;
    return [{
      path: [...f.path, 'csi'],
      message: `rook-ceph needs at least ${MIN_HOSTS} hosts with spare disks (one replica per host); of cluster "${f.cluster}"'s hosts ${have} disks${without.length > 0 ? ` (no disks: ${without.join(', ')})` : ''}`,
      hint: 'list spare disks under hosts[].disks on 3 hosts, or use csi: local-path',
    }];
  },
  render(f): KubeObject[] {
    const ns = ROOK_NAMESPACE;
    const nodes = hostsWithDisks(f).map((h) => ({ name: h.name, devices: h.disks.map((d) => ({ name: d.replace(/^\/dev\//, '') })) })).sort((a, b) => (a.name < b.name ? -1 : 1));
    return [
      crd('cephclusters', 'CephCluster', ['ceph']),
      crd('cephblockpools', 'CephBlockPool', ['cephbp']),
      namespace(NAME, ns, { 'pod-security.kubernetes.io/enforce': 'privileged' }),
      serviceAccount(NAME, ns, 'rook-ceph-system'),
      clusterRole(NAME, 'rook-ceph-operator', [
        { apiGroups: [''], resources: ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'persistentvolumes', 'nodes', 'events', 'serviceaccounts'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: ['apps'], resources: ['deployments', 'daemonsets', 'replicasets', 'statefulsets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses', 'csidrivers'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'bind', 'escalate'] },
        { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
        { apiGroups: ['ceph.rook.io'], resources: ['*'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      ]),
      clusterRoleBinding(NAME, 'rook-ceph-operator', 'rook-ceph-operator', ns, 'rook-ceph-system'),
      configMap(NAME, ns, 'rook-ceph-operator-config', { ROOK_CSI_ENABLE_RBD: 'true', ROOK_CSI_ENABLE_CEPHFS: 'false', ROOK_LOG_LEVEL: 'INFO' }),
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'rook-ceph-operator', namespace: ns, labels: labels(NAME, 'rook-ceph-operator') },
        spec: {
          replicas: 1,
          strategy: { type: 'Recreate' },
          selector: { matchLabels: { 'app.kubernetes.io/name': 'rook-ceph-operator' } },
          template: {
            metadata: { labels: labels(NAME, 'rook-ceph-operator') },
            spec: {
              serviceAccountName: 'rook-ceph-system',
              containers: [
                {
                  name: 'rook-ceph-operator',
                  image: ROOK_IMAGE,
                  args: ['ceph', 'operator'],
                  env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }, { name: 'ROOK_CURRENT_NAMESPACE_ONLY', value: 'false' }],
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'ceph.rook.io/v1',
        kind: 'CephCluster',
        metadata: { name: 'rook-ceph', namespace: ns, labels: labels(NAME) },
        spec: {
          cephVersion: { image: CEPH_IMAGE },
          dataDirHostPath: '/var/lib/rook',
          mon: { count: 3, allowMultiplePerNode: false },
          mgr: { count: 1 },
          dashboard: { enabled: false },
          storage: { useAllNodes: false, useAllDevices: false, nodes },
        },
      },
      {
        apiVersion: 'ceph.rook.io/v1',
        kind: 'CephBlockPool',
        metadata: { name: 'replicapool', namespace: ns, labels: labels(NAME) },
        spec: { failureDomain: 'host', replicated: { size: 3, requireSafeReplicaSize: true } },
      },
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'rook-ceph-block', labels: labels(NAME) },
        provisioner: `${ns}.rbd.csi.ceph.com`,
        parameters: {
          clusterID: ns,
          pool: 'replicapool',
          imageFormat: '2',
          imageFeatures: 'layering',
          'csi.storage.k8s.io/provisioner-secret-name': 'rook-csi-rbd-provisioner',
          'csi.storage.k8s.io/provisioner-secret-namespace': ns,
          'csi.storage.k8s.io/controller-expand-secret-name': 'rook-csi-rbd-provisioner',
          'csi.storage.k8s.io/controller-expand-secret-namespace': ns,
          'csi.storage.k8s.io/node-stage-secret-name': 'rook-csi-rbd-node',
          'csi.storage.k8s.io/node-stage-secret-namespace': ns,
          'csi.storage.k8s.io/fstype': 'ext4',
        },
        allowVolumeExpansion: true,
        reclaimPolicy: 'Delete',
      },
    ];
  },
  nodeFiles: () => [],
  unobservable: (f) => [...kwokLimits(f), 'CephCluster and CephBlockPool report no status unless the operator runs (it needs its images and real disks): their health here only says they exist'],
};
