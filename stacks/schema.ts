/**
 * The stack language, described once: the parser takes its field lists and allowed values
 * from here, and `jsonSchema()` turns it into the JSON Schema published for editors
 * (stacks/stack.schema.json, kept in step by a test).
 */

import { DURATION_PATTERN } from './duration.ts';

export const ENUMS = {
  siteKind: ['local', 'kvm', 'ssh'],
  distribution: ['kubernetes', 'k3s', 'local'],
  bootstrap: ['binaries', 'kubeadm'],
  datastore: ['sqlite', 'embedded-etcd', 'external-etcd', 'external-sql'],
  cni: ['flannel', 'cilium', 'bridge'],
  csi: ['rook-ceph', 'local-path', 'none'],
  runtime: ['gvisor', 'kata'],
  ciliumRouting: ['tunnel', 'native'],
  ciliumIpam: ['kubernetes', 'cluster-pool'],
  arch: ['amd64', 'arm64'],
  network: ['reliable', 'unreliable'],
  render: ['auto', 'yaml', 'kustomize', 'helm'],
  appKind: ['manifests', 'apps'],
  drift: ['correct', 'detect'],
  conflicts: ['force', 'report'],
  selectorOperator: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
  replicaMode: ['Duplicated', 'Divided'],
  purgeMode: ['Graciously', 'Immediately', 'Never'],
  dataPolicy: ['abandon', 'replicated'],
  siteKindLabel: ['cloud', 'edge', 'dc'],
} as const;

export type Field =
  | { readonly type: 'string'; readonly description: string; readonly enum?: readonly string[]; readonly pattern?: string }
  | { readonly type: 'integer'; readonly description: string; readonly minimum?: number; readonly maximum?: number }
  | { readonly type: 'boolean'; readonly description: string }
  | { readonly type: 'duration'; readonly description: string }
  | { readonly type: 'labels'; readonly description: string }
  | { readonly type: 'any'; readonly description: string }
  | { readonly type: 'object'; readonly description: string; readonly fields: Readonly<Record<string, Field>>; readonly required?: readonly string[] }
  | { readonly type: 'list'; readonly description: string; readonly items: Field };

export const NAME_PATTERN = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
export const KUBE_VERSION_PATTERN = '^v?\\d+\\.\\d+(\\.\\d+)?([-+][0-9A-Za-z.+-]*)?$';
export const CIDR_PATTERN = '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$';
export const API_VERSION_PATTERN = '^([a-z0-9.-]+/)?v[0-9a-z]+(/[A-Za-z0-9]+)?$';
const name = (description: string): Field => ({ type: 'string', description, pattern: NAME_PATTERN });
const oneOf = (values: readonly string[], description: string): Field => ({ type: 'string', enum: values, description });
const obj = (description: string, fields: Record<string, Field>, required: string[] = []): Field => ({ type: 'object', description, fields, required });
const list = (description: string, items: Field): Field => ({ type: 'list', description, items });

export const SITE = obj('A place clusters run: this machine, a KVM host through libvirt, or existing SSH hosts.', {
  name: name('Site name.'),
  kind: oneOf(ENUMS.siteKind, 'local: this machine; kvm: VMs on a libvirt host; ssh: existing hosts reached over SSH.'),
  uri: { type: 'string', description: 'libvirt URI of a kvm site, e.g. qemu+ssh://root@10.0.0.2/system.' },
  pool: { type: 'string', description: 'kvm: directory of the storage pool on the libvirt host (must exist).' },
  subnet: { type: 'string', description: 'kvm: IPv4 CIDR of the NAT network the VMs share (default 192.168.150.0/24).' },
  image: { type: 'string', description: 'kvm: local qcow2 (or raw) disk image the VMs boot, e.g. a cloud image with cloud-init.' },
  kernel: { type: 'string', description: 'kvm: kernel on the libvirt host for direct kernel boot (with initrd and cmdline); absent: boot the image.' },
  initrd: { type: 'string', description: 'kvm: initrd for direct kernel boot.' },
  accel: { type: 'string', enum: ['kvm', 'tcg'], description: 'kvm: hardware virtualisation (kvm, default) or software emulation (tcg) where the host has no usable KVM.' },
  cmdline: { type: 'string', description: 'kvm: kernel command line for direct kernel boot (default root=/dev/vda rw console=ttyS0).' },
  edge: { type: 'boolean', description: 'An edge site: small, constrained nodes (K3s by default).' },
  network: oneOf(ENUMS.network, 'How reliable the network to this site is (unreliable → K3s).'),
  labels: { type: 'labels', description: 'Labels every cluster of the site gets (region, provider, ...).' },
}, ['name', 'kind']);

export const HOST = obj('A machine: an existing SSH host, or a VM to create on a kvm site.', {
  name: name('Host name.'),
  site: name('The site it belongs to.'),
  address: { type: 'string', description: 'IP address or DNS name (ssh sites). The VMs of a kvm site get theirs from its subnet: .10 upward in the order of its hosts.' },
  user: { type: 'string', description: 'SSH user (default root).' },
  port: { type: 'integer', description: 'SSH port (default 22).', minimum: 1, maximum: 65535 },
  hostKey: { type: 'string', description: 'The SSH host key (as in known_hosts) it must present.' },
  cpus: { type: 'integer', description: 'vCPUs (kvm VMs).', minimum: 1 },
  memoryGiB: { type: 'integer', description: 'Memory in GiB.', minimum: 1 },
  arch: oneOf(ENUMS.arch, 'CPU architecture (arm64 → K3s by default).'),
  disks: list('Spare block devices for storage (Rook-Ceph), e.g. /dev/vdb.', { type: 'string', description: 'Device path.' }),
}, ['name', 'site']);

export const CLUSTER = obj('A Kubernetes or K3s cluster, or an existing one by kubeconfig.', {
  name: name('Cluster name.'),
  site: name('The site it runs on (default: the only site, or a local one).'),
  kubeconfig: { type: 'string', description: 'An existing cluster: its kubeconfig (nothing is provisioned).' },
  distribution: oneOf(ENUMS.distribution, 'kubernetes, k3s, or local (processes on this machine).'),
  bootstrap: oneOf(ENUMS.bootstrap, 'kubernetes on ssh hosts: binaries (systemd units, default) or kubeadm (static Pods from images infra builds).'),
  version: { type: 'string', description: 'Kubernetes version (clusters infra builds: 1.34.3 or 1.34.4, the default; kubeadm: 1.34.4).' },
  controlPlanes: { type: 'integer', description: 'Control-plane (server) nodes.', minimum: 1, maximum: 7 },
  nodes: { type: 'integer', description: 'Nodes in all (local: kwok fake nodes).', minimum: 0, maximum: 100000 },
  hosts: list('Hosts that make up the cluster.', name('Host name.')),
  datastore: oneOf(ENUMS.datastore, 'Control-plane datastore.'),
  datastoreEndpoint: { type: 'string', description: 'external-etcd or external-sql endpoint.' },
  cni: oneOf(ENUMS.cni, 'Pod network.'),
  csi: oneOf(ENUMS.csi, 'Storage.'),
  runtimes: list('Extra RuntimeClasses besides containerd+runc.', oneOf(ENUMS.runtime, 'gvisor (untrusted workloads) or kata (VM isolation).')),
  security: oneOf(['standard', 'strict'], 'strict: L7 network policies (Cilium).'),
  addons: { type: 'boolean', description: 'infra installs the chosen cni, csi and runtimes as apps it owns (default false for now: their images cannot be pulled on this project\'s test machines).' },
  podCidr: { type: 'string', description: 'Pod network, e.g. 10.244.0.0/16 (default).', pattern: CIDR_PATTERN },
  serviceCidr: { type: 'string', description: 'Service network, e.g. 10.96.0.0/16 (default).', pattern: CIDR_PATTERN },
  cilium: obj('Cilium choices (cni: cilium).', {
    kubeProxyReplacement: { type: 'boolean', description: 'Cilium replaces kube-proxy (default true).' },
    routing: oneOf(ENUMS.ciliumRouting, 'tunnel (VXLAN, default) or native routing.'),
    ipam: oneOf(ENUMS.ciliumIpam, 'kubernetes (node podCIDRs, default) or cluster-pool.'),
  }),
  labels: { type: 'labels', description: 'Labels for placement (site, region, provider, tier, ...).' },
}, ['name']);

const IGNORE = obj('Fields whose drift is ignored.', {
  kind: { type: 'string', description: 'Only objects of this kind.' },
  name: { type: 'string', description: 'Only objects of this name.' },
  namespace: { type: 'string', description: 'Only objects in this namespace.' },
  pointers: list('JSON pointers, e.g. /spec/replicas.', { type: 'string', description: 'A JSON pointer.', pattern: '^(/[^/]*)+$' }),
}, ['pointers']);

export const HELM = obj('Helm options.', {
  releaseName: name('Release name (default: app name).'),
  values: { type: 'any', description: 'Chart values (applied after valuesFiles).' },
  valuesFiles: list('Values files, relative to the chart folder, applied in order.', { type: 'string', description: 'A file inside the chart folder.' }),
  kubeVersion: { type: 'string', description: 'Pins --kube-version, e.g. 1.30.0 (default: each target cluster\'s version).', pattern: KUBE_VERSION_PATTERN },
  apiVersions: list('Pins --api-versions (default: each target cluster\'s API groups and kinds).', { type: 'string', description: 'group/version or group/version/Kind.', pattern: API_VERSION_PATTERN }),
});

export const SELECTOR = obj('Clusters by label: every matchLabels entry and every matchExpressions requirement must hold.', {
  matchLabels: { type: 'labels', description: 'All must match.' },
  matchExpressions: list('Requirements on cluster labels.', obj('A requirement.', {
    key: { type: 'string', description: 'Label key.' },
    operator: oneOf(ENUMS.selectorOperator, 'In / NotIn (values required), Exists / DoesNotExist (no values).'),
    values: list('Label values.', { type: 'string', description: 'A value.' }),
  }, ['key', 'operator'])),
});

export const FAILOVER = obj('Opt-in failover: move the app off a cluster unhealthy for tolerationSeconds, and back home once it is stable.', {
  tolerationSeconds: { type: 'integer', description: 'Seconds a cluster may be NotReady/Unknown before the app moves (default 30).', minimum: 0 },
  purgeMode: oneOf(ENUMS.purgeMode, 'Graciously (default): remove from the failed cluster once the replacement is Healthy and it is reachable; Immediately: as soon as it is reachable; Never.'),
  failback: obj('Moving back to the preferred cluster.', {
    enabled: { type: 'boolean', description: 'Default true.' },
    stabilizationSeconds: { type: 'integer', description: 'Seconds home must be Ready before moving back (default 60).', minimum: 0 },
  }),
  maxMovesPerHour: { type: 'integer', description: 'Failover + failback moves allowed in any hour (default 4).', minimum: 1 },
  data: oneOf(ENUMS.dataPolicy, 'What happens to PersistentVolumeClaims\' data on a move; absent: an app with PVCs is never moved.'),
});

export const PLACEMENT = obj('Which of the candidate clusters (targets) the app runs on; absent: all of them, no failover.', {
  maxClusters: { type: 'integer', description: 'At most this many clusters (default: all candidates).', minimum: 1 },
  spreadBy: { type: 'string', description: 'Cluster label: at most one chosen cluster per value (e.g. region).' },
  preference: list('Cluster order, earlier wins (exclusive with weights).', name('Cluster name.')),
  weights: { type: 'any', description: 'Cluster name → positive whole number: heavier wins, and Divided replicas follow the weights (exclusive with preference).' },
  replicas: oneOf(ENUMS.replicaMode, 'Duplicated (default): every chosen cluster runs all replicas; Divided: Deployment/StatefulSet replicas split by weight and free capacity.'),
  failover: FAILOVER,
});

export const APP = obj('An app: manifests from a folder of a Git source, placed on clusters.', {
  name: name('App name.'),
  kind: oneOf(ENUMS.appKind, 'manifests (default), or apps: the folder holds App files (app-of-apps).'),
  source: name('The source it comes from.'),
  path: { type: 'string', description: 'Folder inside the repository.' },
  render: oneOf(ENUMS.render, 'auto picks kustomize (kustomization.yaml), helm (Chart.yaml) or plain YAML.'),
  helm: HELM,
  namespace: name('Namespace for namespaced objects that name none.'),
  createNamespace: { type: 'boolean', description: 'Create the namespaces its objects use but its manifests do not contain (default false); never deleted by prune.' },
  targets: obj('Where it goes.', {
    clusters: list('Cluster names.', name('Cluster name.')),
    selector: SELECTOR,
  }),
  placement: PLACEMENT,
  prune: { type: 'boolean', description: 'Delete what leaves Git (default true).' },
  allowEmpty: { type: 'boolean', description: 'Allow an empty render to prune everything (default false).' },
  wait: { type: 'boolean', description: 'Wait for health (default true).' },
  timeout: { type: 'duration', description: 'Health wait, e.g. 2m (default 2m).' },
  dependsOn: list('Apps that must be Healthy first.', name('App name.')),
  variables: { type: 'labels', description: 'Values for ${var.NAME}.' },
  substitute: { type: 'boolean', description: 'Replace ${var.*} and ${cluster.*} in manifests (default true; per object: annotation infra.dev/substitute: disabled).' },
  clusterVariables: { type: 'any', description: 'Per cluster: name → values for ${var.NAME}.' },
  drift: oneOf(ENUMS.drift, 'correct (default) or detect: report only.'),
  conflicts: oneOf(ENUMS.conflicts, 'force (default) or report fields other managers own.'),
  ignore: list('Drift ignore rules.', IGNORE),
}, ['name']);

export const SOURCE = obj('A Git repository.', {
  name: name('Source name.'),
  url: { type: 'string', description: 'A path (relative to the stack file) or any URL git understands.' },
  ref: obj('What to follow: exactly one of branch, tag, commit (default branch main).', {
    branch: { type: 'string', description: 'Branch.' },
    tag: { type: 'string', description: 'Tag.' },
    commit: { type: 'string', description: 'Commit hash.', pattern: '^[0-9a-f]{7,40}$' },
  }),
  webhook: obj('Webhooks that trigger `infra serve` (POST /webhooks/<provider>/<source>): exactly one of secretFile, secretEnv.', {
    secretFile: { type: 'string', description: 'File holding the shared secret (relative to the stack file).' },
    secretEnv: { type: 'string', description: 'Environment variable holding the shared secret.' },
  }),
  interval: { type: 'duration', description: '`infra serve`: how often to poll the source, e.g. 30s (default 1m, jittered).' },
  driftInterval: { type: 'duration', description: '`infra serve`: how often to re-check its apps for drift (default 5m).' },
}, ['name', 'url']);

export const STACK = obj('An infra stack.', {
  apiVersion: { type: 'string', enum: ['infra.dev/v1alpha1'], description: 'Format version.' },
  kind: { type: 'string', enum: ['Stack'], description: 'Always Stack.' },
  metadata: obj('Stack metadata.', { name: name('Stack name (the Pulumi stack name).') }),
  sites: list('Sites.', SITE),
  hosts: list('Hosts.', HOST),
  clusters: list('Clusters.', CLUSTER),
  gitops: obj('GitOps sources and apps.', {
    sources: list('Git sources.', SOURCE),
    apps: list('Apps.', APP),
    orphan: list('Apps removed from the stack whose objects stay in the clusters (their records are dropped); others are pruned.', name('App name.')),
  }),
}, ['apiVersion', 'kind']);

export function fieldNames(field: Field): string[] {
  return field.type === 'object' ? Object.keys(field.fields) : [];
}

export function jsonSchema(): Record<string, unknown> {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'https://infra.dev/schemas/stack.json', title: 'infra stack', ...toJson(STACK) };
}

function toJson(f: Field): Record<string, unknown> {
  const d = { description: f.description };
  switch (f.type) {
    case 'string':
      return { type: 'string', ...d, ...(f.enum ? { enum: [...f.enum] } : {}), ...(f.pattern ? { pattern: f.pattern } : {}) };
    case 'integer':
      return { type: 'integer', ...d, ...(f.minimum !== undefined ? { minimum: f.minimum } : {}), ...(f.maximum !== undefined ? { maximum: f.maximum } : {}) };
    case 'boolean':
      return { type: 'boolean', ...d };
    case 'duration':
      return { type: ['string', 'integer'], pattern: DURATION_PATTERN, minimum: 0, ...d };
    case 'labels':
      return { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] }, ...d };
    case 'any':
      return { ...d };
    case 'list':
      return { type: 'array', items: toJson(f.items), ...d };
    case 'object':
      return {
        type: 'object',
        ...d,
        properties: Object.fromEntries(Object.entries(f.fields).map(([k, v]) => [k, toJson(v)])),
        ...(f.required && f.required.length > 0 ? { required: [...f.required] } : {}),
        additionalProperties: false,
      };
  }
}
