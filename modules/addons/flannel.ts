import type { KubeObject } from '../../reconciler/types.ts';
import { kwokLimits, type Addon, type AddonFacts, type AddonIssue } from './addon.ts';
import { TOLERATE_ALL, clusterRole, clusterRoleBinding, configMap, labels, namespace, serviceAccount, stableJson } from './objects.ts';

/**
 * Flannel: one flanneld per node (DaemonSet, host network) that leases each node a subnet of
 * the cluster's pod CIDR from the Kubernetes API (`--kube-subnet-mgr`, the node's spec.podCIDR)
 * and carries Pod traffic over VXLAN. An init container writes the CNI config that chains the
 * `flannel` plugin (which delegates to `bridge` + `host-local`) and `portmap`.
 */

export const FLANNEL_VERSION = 'v0.26.7';
/** The image flanneld runs from; on SSH test hosts it is imported from an OCI archive built from the Go module proxy (it cannot be pulled here). */
export const FLANNEL_IMAGE = `docker.io/flannel/flannel:${FLANNEL_VERSION}`;
export const FLANNEL_NAMESPACE = 'kube-flannel';
/** Where the CNI config lands on each node (sorted before the binaries distribution's 10-infra-bridge). */
export const FLANNEL_CNI_FILE = '/etc/cni/net.d/05-flannel.conflist';

const NAME = 'flannel';

export function flannelNetConf(f: AddonFacts): Record<string, unknown> {
  return { Network: f.podCidr, EnableIPv4: true, Backend: { Type: 'vxlan', VNI: 1, Port: 8472 } };
}

export function flannelCniConf(): Record<string, unknown> {
  return {
    cniVersion: '0.4.0',
    name: 'cbr0',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

export const flannel: Addon = {
  name: NAME,
  kind: 'cni',
  version: FLANNEL_VERSION,
  wanted: (f) => f.cni === 'flannel',
  validate(f): AddonIssue[] {
    const prefix = Number(f.podCidr.split('/')[1]);
    // --kube-subnet-mgr hands out the node's podCIDR; the controller-manager carves /24s.
    if (!(prefix <= 22)) return [{ path: [...f.path, 'podCidr'], message: `flannel needs a pod CIDR of /22 or larger (a /24 per node), got ${f.podCidr}` }];
    return [];
  },
  render(f): KubeObject[] {
    const ns = FLANNEL_NAMESPACE;
    const sel = { 'app.kubernetes.io/name': NAME };
    const hostPath = (name: string, path: string, type?: string) => ({ name, hostPath: { path, ...(type ? { type } : {}) } });
    return [
      namespace(NAME, ns, { 'pod-security.kubernetes.io/enforce': 'privileged' }),
      serviceAccount(NAME, ns, 'flannel'),
      clusterRole(NAME, 'flannel', [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      ]),
      clusterRoleBinding(NAME, 'flannel', 'flannel', ns, 'flannel'),
      configMap(NAME, ns, 'kube-flannel-cfg', { 'cni-conf.json': stableJson(flannelCniConf()), 'net-conf.json': stableJson(flannelNetConf(f)) }),
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'kube-flannel-ds', namespace: ns, labels: labels(NAME) },
        spec: {
          selector: { matchLabels: sel },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
          template: {
            metadata: { labels: labels(NAME) },
            spec: {
              serviceAccountName: 'flannel',
              hostNetwork: true,
              priorityClassName: 'system-node-critical',
              tolerations: TOLERATE_ALL,
              affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } },
              initContainers: [
                {
                  name: 'install-cni-config',
                  image: FLANNEL_IMAGE,
                  command: ['cp', '-f', '/etc/kube-flannel/cni-conf.json', FLANNEL_CNI_FILE],
                  volumeMounts: [{ name: 'cni', mountPath: '/etc/cni/net.d' }, { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' }],
                },
              ],
              containers: [
                {
                  name: 'kube-flannel',
                  image: FLANNEL_IMAGE,
                  command: ['/opt/bin/flanneld'],
                  args: ['--ip-masq', '--kube-subnet-mgr'],
                  env: [
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                  ],
                  resources: { requests: { cpu: '100m', memory: '50Mi' } },
                  securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
                  volumeMounts: [
                    { name: 'run', mountPath: '/run/flannel' },
                    { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                    { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                  ],
                },
              ],
              volumes: [
                hostPath('run', '/run/flannel'),
                hostPath('cni', '/etc/cni/net.d'),
                { name: 'flannel-cfg', configMap: { name: 'kube-flannel-cfg' } },
                hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
              ],
            },
          },
        },
      },
    ];
  },
  nodeFiles: () => [],
  unobservable: (f) => [...kwokLimits(f), ...(f.local ? ['no VXLAN device or routes exist on kwok nodes: Pod-to-Pod traffic is not tested here'] : [])],
};
