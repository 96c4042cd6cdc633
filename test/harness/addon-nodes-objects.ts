import { ADDON_IMAGES } from '../../modules/distributions/binaries/node-addons.ts';

/**
 * Flannel as the hosts test applies it to a `binaries` cluster on the SSH test hosts (written
 * here from Flannel's documented facts: flanneld with --kube-subnet-mgr on the host network,
 * init containers putting the `flannel` CNI plugin and a conflist on the node). The image is the
 * one infra built and imported (node-addons.ts); flanneld reaches the apiserver directly, since
 * the cluster runs no kube-proxy for the `kubernetes` Service IP. flanneld execs `iptables` (its
 * nftables mode execs `nft`), which the image lacks: the node's own (Debian's iptables-nft) is
 * mounted read-only.
 */
/** The node's iptables and what it loads: [volume, host path, path in the container]. */
const NODE_IPTABLES: readonly (readonly [string, string, string])[] = [
  ['host-usr', '/usr', '/usr'],
  ['host-lib', '/usr/lib', '/lib'],
  ['host-lib64', '/usr/lib64', '/lib64'],
  ['host-alternatives', '/etc/alternatives', '/etc/alternatives'],
];

export function flannelObjects(o: { podCidr: string; apiserverHost: string }): Record<string, unknown>[] {
  const ns = 'kube-flannel';
  const labels = { app: 'flannel' };
  const image = ADDON_IMAGES.flannel;
  const netConf = { Network: o.podCidr, Backend: { Type: 'vxlan' } };
  const cniConf = { name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } }, { type: 'portmap', capabilities: { portMappings: true } }] };
  const hostPath = (name: string, path: string) => ({ name, hostPath: { path } });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'flannel', namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'flannel' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'flannel' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'flannel' },
      subjects: [{ kind: 'ServiceAccount', name: 'flannel', namespace: ns }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-flannel-cfg', namespace: ns }, data: { 'cni-conf.json': JSON.stringify(cniConf), 'net-conf.json': JSON.stringify(netConf) } },
    {
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'kube-flannel-ds', namespace: ns },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'flannel',
            hostNetwork: true,
            tolerations: [{ operator: 'Exists' }],
            initContainers: [
              { name: 'install-cni-plugin', image, imagePullPolicy: 'Never', command: ['/bin/cp', '-f', '/flannel', '/opt/cni/bin/flannel'], volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }] },
              { name: 'install-cni', image, imagePullPolicy: 'Never', command: ['/bin/cp', '-f', '/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist'], volumeMounts: [{ name: 'cni', mountPath: '/etc/cni/net.d' }, { name: 'cfg', mountPath: '/etc/kube-flannel/' }] },
            ],
            containers: [
              {
                name: 'kube-flannel', image, imagePullPolicy: 'Never',
                command: ['/opt/bin/flanneld'], args: ['--ip-masq', '--kube-subnet-mgr'],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'KUBERNETES_SERVICE_HOST', value: o.apiserverHost },
                  { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
                  { name: 'PATH', value: '/opt/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
                ],
                securityContext: { privileged: true },
                volumeMounts: [
                  { name: 'run', mountPath: '/run/flannel' },
                  { name: 'cfg', mountPath: '/etc/kube-flannel/' },
                  ...NODE_IPTABLES.map(([name, , path]) => ({ name, mountPath: path, readOnly: true })),
                ],
              },
            ],
            volumes: [hostPath('run', '/run/flannel'), hostPath('cni-plugin', '/opt/cni/bin'), hostPath('cni', '/etc/cni/net.d'), { name: 'cfg', configMap: { name: 'kube-flannel-cfg' } }, ...NODE_IPTABLES.map(([name, host]) => hostPath(name, host))],
          },
        },
      },
    },
  ];
}
