import type { KubeObject } from '../../reconciler/types.ts';
import { kwokLimits, type Addon, type AddonFacts, type AddonIssue } from './addon.ts';
import { ADDON_IMAGES } from '../distributions/binaries/node-addons.ts';
import { TOLERATE_ALL, apiserverEnv, clusterRole, clusterRoleBinding, configMap, labels, namespace, serviceAccount, stableJson } from './objects.ts';

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

/**
 * On nodes infra made, flanneld runs from the image infra built (flanneld, the `flannel` CNI
 * plugin, a static `cp`), which has no `iptables`: the node's own is mounted read-only
 * ([volume, host path, path in the container]); flanneld needs privileges to run it.
 */
const NODE_IPTABLES: readonly (readonly [string, string, string])[] = [
  ['host-usr', '/usr', '/usr'],
  ['host-lib', '/usr/lib', '/lib'],
  ['host-lib64', '/usr/lib64', '/lib64'],
  ['host-alternatives', '/etc/alternatives', '/etc/alternatives'],
];

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
    const own = f.infraNodes;
    const image = own ? { image: ADDON_IMAGES.flannel, imagePullPolicy: 'Never' } : { image: FLANNEL_IMAGE };
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
                // infra's image carries the `flannel` CNI plugin; the node's plugin directory gets it.
                ...(own ? [{ name: 'install-cni-plugin', ...image, command: ['cp', '-f', '/flannel', '/opt/cni/bin/flannel'], volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }] }] : []),
                {
                  name: 'install-cni-config',
                  ...image,
                  command: ['cp', '-f', '/etc/kube-flannel/cni-conf.json', FLANNEL_CNI_FILE],
                  volumeMounts: [{ name: 'cni', mountPath: '/etc/cni/net.d' }, { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' }],
                },
              ],
              containers: [
                {
                  name: 'kube-flannel',
                  ...image,
                  command: ['/opt/bin/flanneld'],
                  args: ['--ip-masq', '--kube-subnet-mgr'],
                  env: [
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                    ...(own ? [...apiserverEnv(own), { name: 'PATH', value: '/opt/bin:/usr/sbin:/usr/bin:/sbin:/bin' }] : []),
                  ],
                  resources: { requests: { cpu: '100m', memory: '50Mi' } },
                  securityContext: own ? { privileged: true } : { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
                  volumeMounts: [
                    { name: 'run', mountPath: '/run/flannel' },
                    { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
                    { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                    ...(own ? NODE_IPTABLES.map(([name, , path]) => ({ name, mountPath: path, readOnly: true })) : []),
                  ],
                },
              ],
              volumes: [
                hostPath('run', '/run/flannel'),
                hostPath('cni', '/etc/cni/net.d'),
                { name: 'flannel-cfg', configMap: { name: 'kube-flannel-cfg' } },
                hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
                ...(own ? [hostPath('cni-plugin', '/opt/cni/bin'), ...NODE_IPTABLES.map(([name, host]) => hostPath(name, host))] : []),
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
