import type { KubeObject } from '../../reconciler/types.ts';
import { kwokLimits, type Addon, type AddonFacts } from './addon.ts';
import { TOLERATE_ALL, clusterRole, clusterRoleBinding, configMap, labels, serviceAccount } from './objects.ts';

/**
 * Cilium: the agent (DaemonSet, eBPF datapath) and the operator (IPAM, CRD registration, garbage
 * collection), configured by the `cilium-config` ConfigMap from the stack's choices: kube-proxy
 * replacement, tunnel (VXLAN) or native routing, IPAM from the nodes' podCIDRs or a cluster pool.
 * The same choices as Helm values (`ciliumHelmValues`) for users who install the chart instead.
 * The operator registers Cilium's CRDs itself when it starts, so no CR is rendered here.
 */

export const CILIUM_VERSION = 'v1.16.5';
export const CILIUM_IMAGE = `quay.io/cilium/cilium:${CILIUM_VERSION}`;
export const CILIUM_OPERATOR_IMAGE = `quay.io/cilium/operator-generic:${CILIUM_VERSION}`;
const NS = 'kube-system';
const NAME = 'cilium';

export function ciliumConfig(f: AddonFacts): Record<string, string> {
  const native = f.cilium.routing === 'native';
  const pool = f.cilium.ipam === 'cluster-pool';
  return Object.fromEntries(
    Object.entries({
      'cluster-name': f.cluster,
      'enable-ipv4': 'true',
      'enable-ipv6': 'false',
      'kube-proxy-replacement': String(f.cilium.kubeProxyReplacement),
      'routing-mode': f.cilium.routing,
      ...(native ? { 'ipv4-native-routing-cidr': f.podCidr, 'auto-direct-node-routes': 'true' } : { 'tunnel-protocol': 'vxlan' }),
      ipam: f.cilium.ipam,
      ...(pool ? { 'cluster-pool-ipv4-cidr': f.podCidr, 'cluster-pool-ipv4-mask-size': '24' } : {}),
      'enable-policy': 'default',
      'identity-allocation-mode': 'crd',
      'cni-exclusive': 'true',
    }).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/** The same choices as values of Cilium's Helm chart. */
export function ciliumHelmValues(f: AddonFacts): Record<string, unknown> {
  const native = f.cilium.routing === 'native';
  return {
    cluster: { name: f.cluster },
    kubeProxyReplacement: f.cilium.kubeProxyReplacement,
    routingMode: f.cilium.routing,
    ...(native ? { ipv4NativeRoutingCIDR: f.podCidr, autoDirectNodeRoutes: true } : { tunnelProtocol: 'vxlan' }),
    ipam: { mode: f.cilium.ipam, ...(f.cilium.ipam === 'cluster-pool' ? { operator: { clusterPoolIPv4PodCIDRList: [f.podCidr], clusterPoolIPv4MaskSize: 24 } } : {}) },
    image: { tag: CILIUM_VERSION },
  };
}

const CILIUM_GROUPS = ['cilium.io'];

export const cilium: Addon = {
  name: NAME,
  kind: 'cni',
  version: CILIUM_VERSION,
  wanted: (f) => f.cni === 'cilium',
  validate: () => [],
  render(f): KubeObject[] {
    const agentLabels = labels(NAME, 'cilium-agent');
    const operatorLabels = labels(NAME, 'cilium-operator');
    const hostPath = (name: string, path: string, type?: string) => ({ name, hostPath: { path, ...(type ? { type } : {}) } });
    return [
      serviceAccount(NAME, NS, 'cilium'),
      serviceAccount(NAME, NS, 'cilium-operator'),
      clusterRole(NAME, 'cilium', [
        { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['namespaces', 'services', 'pods', 'endpoints', 'nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
        { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['list', 'watch', 'get'] },
        { apiGroups: CILIUM_GROUPS, resources: ['*'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
      ]),
      clusterRole(NAME, 'cilium-operator', [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'delete'] },
        { apiGroups: [''], resources: ['nodes', 'namespaces', 'services', 'endpoints'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['create', 'get', 'list', 'watch', 'update'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
        { apiGroups: CILIUM_GROUPS, resources: ['*'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] },
      ]),
      clusterRoleBinding(NAME, 'cilium', 'cilium', NS, 'cilium'),
      clusterRoleBinding(NAME, 'cilium-operator', 'cilium-operator', NS, 'cilium-operator'),
      configMap(NAME, NS, 'cilium-config', ciliumConfig(f)),
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'cilium', namespace: NS, labels: agentLabels },
        spec: {
          selector: { matchLabels: { 'app.kubernetes.io/name': 'cilium-agent' } },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
          template: {
            metadata: { labels: agentLabels },
            spec: {
              serviceAccountName: 'cilium',
              hostNetwork: true,
              priorityClassName: 'system-node-critical',
              tolerations: TOLERATE_ALL,
              containers: [
                {
                  name: 'cilium-agent',
                  image: CILIUM_IMAGE,
                  command: ['cilium-agent'],
                  args: ['--config-dir=/tmp/cilium/config-map'],
                  env: [{ name: 'K8S_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }, { name: 'CILIUM_K8S_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
                  securityContext: { privileged: true },
                  volumeMounts: [
                    { name: 'cilium-config', mountPath: '/tmp/cilium/config-map', readOnly: true },
                    { name: 'bpf-maps', mountPath: '/sys/fs/bpf', mountPropagation: 'HostToContainer' },
                    { name: 'cilium-run', mountPath: '/var/run/cilium' },
                    { name: 'cni-path', mountPath: '/host/opt/cni/bin' },
                    { name: 'etc-cni-netd', mountPath: '/host/etc/cni/net.d' },
                    { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
                  ],
                },
              ],
              volumes: [
                { name: 'cilium-config', configMap: { name: 'cilium-config' } },
                hostPath('bpf-maps', '/sys/fs/bpf', 'DirectoryOrCreate'),
                hostPath('cilium-run', '/var/run/cilium', 'DirectoryOrCreate'),
                hostPath('cni-path', '/opt/cni/bin', 'DirectoryOrCreate'),
                hostPath('etc-cni-netd', '/etc/cni/net.d', 'DirectoryOrCreate'),
                hostPath('lib-modules', '/lib/modules'),
              ],
            },
          },
        },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'cilium-operator', namespace: NS, labels: operatorLabels },
        spec: {
          replicas: f.nodes >= 2 ? 2 : 1,
          selector: { matchLabels: { 'app.kubernetes.io/name': 'cilium-operator' } },
          template: {
            metadata: { labels: operatorLabels },
            spec: {
              serviceAccountName: 'cilium-operator',
              hostNetwork: true,
              priorityClassName: 'system-cluster-critical',
              tolerations: TOLERATE_ALL,
              containers: [
                {
                  name: 'cilium-operator',
                  image: CILIUM_OPERATOR_IMAGE,
                  command: ['cilium-operator-generic'],
                  args: ['--config-dir=/tmp/cilium/config-map'],
                  env: [{ name: 'K8S_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }, { name: 'CILIUM_K8S_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
                  volumeMounts: [{ name: 'cilium-config', mountPath: '/tmp/cilium/config-map', readOnly: true }],
                },
              ],
              volumes: [{ name: 'cilium-config', configMap: { name: 'cilium-config' } }],
            },
          },
        },
      },
    ];
  },
  nodeFiles: () => [],
  unobservable: (f) => [...kwokLimits(f), 'the agent needs eBPF on the nodes and images this machine cannot fetch: its datapath has not run here'],
};
