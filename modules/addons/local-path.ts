import type { KubeObject } from '../../reconciler/types.ts';
import { kwokLimits, type Addon, type AddonFacts } from './addon.ts';
import { ADDON_IMAGES } from '../distributions/binaries/node-addons.ts';
import { apiserverEnv, clusterRole, clusterRoleBinding, configMap, labels, namespace, role, roleBinding, serviceAccount, stableJson } from './objects.ts';

/**
 * local-path: a dynamic provisioner that makes each PersistentVolume a directory on the node
 * the first Pod of the claim is scheduled to (WaitForFirstConsumer), with a helper Pod running
 * the setup/teardown scripts of its ConfigMap. Node paths per host of the stack.
 */

export const LOCAL_PATH_VERSION = 'v0.0.31';
export const LOCAL_PATH_IMAGE = `docker.io/rancher/local-path-provisioner:${LOCAL_PATH_VERSION}`;
/** The helper Pod runs `sh` with the setup/teardown scripts: any image with a POSIX shell, mkdir and rm. */
export const LOCAL_PATH_HELPER_IMAGE = 'docker.io/library/busybox:1.37.0';

/** The images on nodes infra made: the ones it built and imported (busybox from Debian's busybox-static), never pulled. */
function localPathImages(f: AddonFacts): { provisioner: string; helper: string; pull: string } {
  return f.infraNodes
    ? { provisioner: ADDON_IMAGES['local-path'], helper: ADDON_IMAGES.busybox, pull: 'Never' }
    : { provisioner: LOCAL_PATH_IMAGE, helper: LOCAL_PATH_HELPER_IMAGE, pull: 'IfNotPresent' };
}
export const LOCAL_PATH_NAMESPACE = 'local-path-storage';
export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
export const LOCAL_PATH_DIR = '/var/lib/infra/local-path';
export const LOCAL_PATH_SERVICE_ACCOUNT = 'local-path-provisioner-service-account';

const NAME = 'local-path';

export function localPathConfig(f: AddonFacts): Record<string, unknown> {
  const named = [...f.hosts].map((h) => h.name).sort().map((node) => ({ node, paths: [LOCAL_PATH_DIR] }));
  return { nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: [LOCAL_PATH_DIR] }, ...named] };
}

const SETUP = ['#!/bin/sh', 'set -eu', 'mkdir -m 0777 -p "$VOL_DIR"', ''].join('\n');
const TEARDOWN = ['#!/bin/sh', 'set -eu', 'rm -rf "$VOL_DIR"', ''].join('\n');

export const localPath: Addon = {
  name: NAME,
  kind: 'csi',
  version: LOCAL_PATH_VERSION,
  wanted: (f) => f.csi === 'local-path',
  validate: () => [],
  render(f): KubeObject[] {
    const ns = LOCAL_PATH_NAMESPACE;
    // The provisioner creates its helper Pods under this account (its default name): another name
    // leaves every claim Pending with "error looking up service account".
    const account = LOCAL_PATH_SERVICE_ACCOUNT;
    const images = localPathImages(f);
    const helperPod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'helper-pod' },
      spec: { priorityClassName: 'system-node-critical', tolerations: [{ key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' }], containers: [{ name: 'helper-pod', image: images.helper, imagePullPolicy: images.pull }] },
    };
    return [
      namespace(NAME, ns, { 'pod-security.kubernetes.io/enforce': 'privileged' }),
      serviceAccount(NAME, ns, account),
      role(NAME, ns, account, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }]),
      roleBinding(NAME, ns, account, account, account),
      clusterRole(NAME, 'local-path-provisioner', [
        { apiGroups: [''], resources: ['nodes', 'persistentvolumeclaims', 'configmaps', 'pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      ]),
      clusterRoleBinding(NAME, 'local-path-provisioner', 'local-path-provisioner', ns, account),
      configMap(NAME, ns, 'local-path-config', {
        'config.json': stableJson(localPathConfig(f)),
        setup: SETUP,
        teardown: TEARDOWN,
        'helperPod.yaml': stableJson(helperPod),
      }),
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'local-path-provisioner', namespace: ns, labels: labels(NAME) },
        spec: {
          replicas: 1,
          selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
          template: {
            metadata: { labels: labels(NAME) },
            spec: {
              serviceAccountName: account,
              tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
              containers: [
                {
                  name: 'local-path-provisioner',
                  image: images.provisioner,
                  imagePullPolicy: images.pull,
                  command: ['local-path-provisioner', '--debug', 'start', '--config', '/etc/config/config.json', '--provisioner-name', LOCAL_PATH_PROVISIONER, '--helper-image', images.helper],
                  env: [
                    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                    { name: 'CONFIG_MOUNT_PATH', value: '/etc/config/' },
                    ...(f.infraNodes ? apiserverEnv(f.infraNodes) : []),
                  ],
                  volumeMounts: [{ name: 'config-volume', mountPath: '/etc/config/' }],
                },
              ],
              volumes: [{ name: 'config-volume', configMap: { name: 'local-path-config' } }],
            },
          },
        },
      },
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'local-path', labels: labels(NAME), annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: LOCAL_PATH_PROVISIONER,
        volumeBindingMode: 'WaitForFirstConsumer',
        reclaimPolicy: 'Delete',
      },
    ];
  },
  nodeFiles: () => [],
  unobservable: (f) => [...kwokLimits(f), ...(f.local ? ['no PVC can bind here: the provisioner\'s Pod is kwok\'s and provisions nothing'] : [])],
};
