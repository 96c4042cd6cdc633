import { KUBERNETES_SUPPORTED_VERSIONS } from '../../stacks/versions.ts';

/**
 * Pinned versions of every binary a local cluster runs, and how to build each from the Go
 * module proxy. Pure data: the resolver and the Go builder act on it.
 */

export type ControlPlaneBinary = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
export type RenderBinary = 'kustomize' | 'helm';
export type EngineBinary = 'pulumi';
/** What a node of a cluster on existing hosts (`binaries` distribution) runs besides the control plane. */
export type NodeBinary = 'kubelet' | 'kubectl';
/** etcd's own clients: `infra etcd snapshot` saves with etcdctl, `infra etcd restore` restores with etcdutl. */
export type EtcdToolBinary = 'etcdctl' | 'etcdutl';
/** What the kubeadm distribution uploads to its hosts. */
export type KubeadmBinary = 'kubeadm';
/** The CNI plugins a node's Pod network needs (containerd calls them; hosts have no package for them). */
export type CniPluginBinary = 'cni-bridge' | 'cni-host-local' | 'cni-loopback' | 'cni-portmap';
/** What the cluster add-ons run on real nodes (packaged as OCI archives; `cni-flannel` is the node's CNI plugin). */
export type AddonBinary = 'flanneld' | 'cni-flannel' | 'local-path-provisioner' | 'runsc' | 'containerd-shim-runsc-v1';
export type BinaryName = ControlPlaneBinary | RenderBinary | EngineBinary | NodeBinary | EtcdToolBinary | KubeadmBinary | CniPluginBinary | AddonBinary;

/** What a local cluster runs. */
export const BINARY_NAMES: readonly ControlPlaneBinary[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
];

export const KUBERNETES_VERSION = '1.34.4';
/**
 * Kubernetes versions a `binaries` cluster on ssh hosts may name (`version:` in the stack, checked
 * there): the pinned one and the patch release before it, so a cluster can be upgraded from one to
 * the other. Local clusters always run KUBERNETES_VERSION.
 */
export const SUPPORTED_KUBERNETES_VERSIONS: readonly string[] = KUBERNETES_SUPPORTED_VERSIONS;
/** What a host of a `binaries` cluster runs at the cluster's own version (kubectl and etcd stay pinned). */
export type VersionedBinary = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet';
export const VERSIONED_BINARY_NAMES: readonly VersionedBinary[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'];
export const ETCD_VERSION = '3.6.16';
export const KWOK_VERSION = '0.7.0';
// kustomize 5.8 needs Go 1.27; 5.7 builds with the Go these machines have.
export const KUSTOMIZE_VERSION = '5.7.1';
export const HELM_VERSION = '3.19.0';
// The engine and the npm package @pulumi/pulumi must be the same version. 3.259 is the newest
// the Go module proxy serves here.
export const PULUMI_VERSION = '3.259.0';
export const CNI_PLUGINS_VERSION = '1.7.1';
// 0.28.x needs tencentcloud-sdk-go/tencentcloud/vpc v1.3.188, which the Go module proxy does not serve here (403);
// 0.27.4 needs v1.1.14, which it does.
export const FLANNEL_VERSION = '0.27.4';
// The flannel CNI plugin moved to github.com/flannel-io/cni-plugin, which the Go module proxy does not
// serve here (403); the reference plugins carried it (plugins/meta/flannel) up to v0.9.1.
export const CNI_FLANNEL_VERSION = '0.9.1';
export const LOCAL_PATH_PROVISIONER_VERSION = '0.0.30';
// gVisor tags no releases on the proxy; its `go` branch (what @latest resolves to) is pinned by pseudo-version.
export const RUNSC_MODULE_VERSION = 'v0.0.0-20260905035102-160fafc42237';
export const RUNSC_VERSION = '0.0.0-20260905035102';

/**
 * Built only when a stack asks for them (or `infra local binaries --all`): cold, they cost CI
 * ~11 min more on this machine, and no Pod can run under runsc here (docs/BUILD-NOTES.md).
 */
export const ON_DEMAND_BINARIES: readonly BinaryName[] = ['runsc', 'containerd-shim-runsc-v1'];

/** What the add-ons on real nodes run. */
export const ADDON_BINARY_NAMES: readonly AddonBinary[] = ['flanneld', 'cni-flannel', 'local-path-provisioner', 'runsc', 'containerd-shim-runsc-v1'];

/** What a node's containerd runs to wire Pods (binary names on the host drop the `cni-` prefix). */
export const CNI_PLUGIN_NAMES: readonly CniPluginBinary[] = ['cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'];

/** What the `binaries` distribution uploads to worker nodes (and uses to drain them). */
export const NODE_BINARY_NAMES: readonly NodeBinary[] = ['kubelet', 'kubectl'];
/** What `infra etcd snapshot|restore` runs, at etcd's pinned version. */
export const ETCD_TOOL_NAMES: readonly EtcdToolBinary[] = ['etcdctl', 'etcdutl'];

/** What the reconciler renders with. */
export const RENDER_BINARY_NAMES: readonly RenderBinary[] = ['kustomize', 'helm'];

/** A Go main package built inside a generated wrapper module. */
export interface GoRecipe {
  /** The module that holds the main package, required by the wrapper at `version`. */
  readonly module: string;
  readonly moduleVersion: string;
  /** Import path of the main package. */
  readonly mainPackage: string;
  /** Replace the module's `./staging/...` replaces with versioned ones (k8s.io/kubernetes). */
  readonly stagingReplaceVersion?: string;
  readonly tags: readonly string[];
  readonly ldflags: readonly string[];
  /** More modules the wrapper requires at fixed versions (e.g. an SDK the module replaces locally). */
  readonly extraRequires?: readonly (readonly [string, string])[];
  /** Replace directives the wrapper must copy from the module (its own are ignored in a dependency). */
  readonly replaces?: readonly (readonly [string, string])[];
  /** Needs cgo (linked statically, so the binary still runs in an image without a libc). */
  readonly cgo?: boolean;
}

export interface BinarySpec {
  readonly name: BinaryName;
  readonly version: string;
  /** Arguments that make the binary print its version, and how to read it. */
  readonly versionArgs: readonly string[];
  readonly versionPattern: RegExp;
  readonly recipe: GoRecipe;
}

function kubeVersionFlags(version: string): string[] {
  const [major, minor] = version.split('.');
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=v${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]);
}

function kubeComponent(name: 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubelet' | 'kubectl' | 'kubeadm', version = KUBERNETES_VERSION): BinarySpec {
  const minor = version.split('.').slice(1).join('.');
  return {
    name,
    version,
    versionArgs: ['--version'],
    versionPattern: /Kubernetes v(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'k8s.io/kubernetes',
      moduleVersion: `v${version}`,
      mainPackage: `k8s.io/kubernetes/cmd/${name}`,
      stagingReplaceVersion: `v0.${minor}`,
      tags: ['selinux', 'notest', 'grpcnotrace'],
      ldflags: kubeVersionFlags(version),
    },
  };
}

/** etcdctl and etcdutl are modules of their own in etcd's repository, released with the server. */
function etcdTool(name: EtcdToolBinary): BinarySpec {
  return {
    name,
    version: ETCD_VERSION,
    versionArgs: ['version'],
    versionPattern: new RegExp(`${name} version: (\\d+\\.\\d+\\.\\d+)`),
    recipe: {
      module: `go.etcd.io/etcd/${name}/v3`,
      moduleVersion: `v${ETCD_VERSION}`,
      mainPackage: `go.etcd.io/etcd/${name}/v3`,
      tags: [],
      ldflags: [],
    },
  };
}

function cniPlugin(name: CniPluginBinary, dir: 'main' | 'ipam' | 'meta'): BinarySpec {
  const plugin = name.slice('cni-'.length);
  return {
    name,
    version: CNI_PLUGINS_VERSION,
    versionArgs: [],
    versionPattern: /CNI \S+ plugin v(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'github.com/containernetworking/plugins',
      moduleVersion: `v${CNI_PLUGINS_VERSION}`,
      mainPackage: `github.com/containernetworking/plugins/plugins/${dir}/${plugin}`,
      tags: [],
      ldflags: [`-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v${CNI_PLUGINS_VERSION}`],
    },
  };
}

export const BINARIES: Readonly<Record<BinaryName, BinarySpec>> = {
  flanneld: {
    name: 'flanneld',
    version: FLANNEL_VERSION,
    versionArgs: ['--version'],
    versionPattern: /v(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'github.com/flannel-io/flannel',
      moduleVersion: `v${FLANNEL_VERSION}`,
      mainPackage: 'github.com/flannel-io/flannel',
      tags: [],
      // Its udp backend is cgo.
      ldflags: [`-X github.com/flannel-io/flannel/pkg/version.Version=v${FLANNEL_VERSION}`, '-extldflags=-static'],
      cgo: true,
    },
  },
  'cni-flannel': {
    name: 'cni-flannel',
    version: CNI_FLANNEL_VERSION,
    versionArgs: [],
    versionPattern: /CNI flannel plugin v(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'github.com/containernetworking/plugins',
      moduleVersion: `v${CNI_FLANNEL_VERSION}`,
      mainPackage: 'github.com/containernetworking/plugins/plugins/meta/flannel',
      tags: [],
      ldflags: [`-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=v${CNI_FLANNEL_VERSION}`],
    },
  },
  'local-path-provisioner': {
    name: 'local-path-provisioner',
    version: LOCAL_PATH_PROVISIONER_VERSION,
    versionArgs: ['--version'],
    versionPattern: /v(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'github.com/rancher/local-path-provisioner',
      moduleVersion: `v${LOCAL_PATH_PROVISIONER_VERSION}`,
      mainPackage: 'github.com/rancher/local-path-provisioner',
      tags: [],
      ldflags: [`-X main.VERSION=v${LOCAL_PATH_PROVISIONER_VERSION}`],
    },
  },
  runsc: {
    name: 'runsc',
    version: RUNSC_VERSION,
    versionArgs: ['--version'],
    versionPattern: /runsc version (\S+)/,
    recipe: {
      module: 'gvisor.dev/gvisor',
      moduleVersion: RUNSC_MODULE_VERSION,
      mainPackage: 'gvisor.dev/gvisor/runsc',
      tags: [],
      ldflags: [`-X gvisor.dev/gvisor/runsc/version.version=${RUNSC_VERSION}`],
    },
  },
  // containerd runs a runtime handler through its shim (runtime_type io.containerd.runsc.v1).
  'containerd-shim-runsc-v1': {
    name: 'containerd-shim-runsc-v1',
    version: RUNSC_VERSION,
    versionArgs: ['-v'],
    versionPattern: /(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'gvisor.dev/gvisor',
      moduleVersion: RUNSC_MODULE_VERSION,
      mainPackage: 'gvisor.dev/gvisor/shim',
      tags: [],
      ldflags: [],
    },
  },
  'cni-bridge': cniPlugin('cni-bridge', 'main'),
  'cni-host-local': cniPlugin('cni-host-local', 'ipam'),
  'cni-loopback': cniPlugin('cni-loopback', 'main'),
  'cni-portmap': cniPlugin('cni-portmap', 'meta'),
  etcd: {
    name: 'etcd',
    version: ETCD_VERSION,
    versionArgs: ['--version'],
    versionPattern: /etcd Version: (\d+\.\d+\.\d+)/,
    recipe: {
      module: 'go.etcd.io/etcd/server/v3',
      moduleVersion: `v${ETCD_VERSION}`,
      mainPackage: 'go.etcd.io/etcd/server/v3',
      tags: [],
      ldflags: [],
    },
  },
  'kube-apiserver': kubeComponent('kube-apiserver'),
  'kube-controller-manager': kubeComponent('kube-controller-manager'),
  'kube-scheduler': kubeComponent('kube-scheduler'),
  kubelet: kubeComponent('kubelet'),
  kubectl: { ...kubeComponent('kubectl'), versionArgs: ['version', '--client'], versionPattern: /Client Version: v(\d+\.\d+\.\d+)/ },
  // kubeadm has no --version flag.
  kubeadm: { ...kubeComponent('kubeadm'), versionArgs: ['version', '-o', 'short'], versionPattern: /^v(\d+\.\d+\.\d+)/m },
  etcdctl: etcdTool('etcdctl'),
  etcdutl: etcdTool('etcdutl'),
  kwok: {
    name: 'kwok',
    version: KWOK_VERSION,
    versionArgs: ['--version'],
    versionPattern: /kwok version v?(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'sigs.k8s.io/kwok',
      moduleVersion: `v${KWOK_VERSION}`,
      mainPackage: 'sigs.k8s.io/kwok/cmd/kwok',
      tags: [],
      ldflags: [`-X sigs.k8s.io/kwok/pkg/consts.Version=v${KWOK_VERSION}`],
    },
  },
  kustomize: {
    name: 'kustomize',
    version: KUSTOMIZE_VERSION,
    versionArgs: ['version'],
    versionPattern: /v?(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'sigs.k8s.io/kustomize/kustomize/v5',
      moduleVersion: `v${KUSTOMIZE_VERSION}`,
      mainPackage: 'sigs.k8s.io/kustomize/kustomize/v5',
      tags: [],
      ldflags: [],
    },
  },
  helm: {
    name: 'helm',
    version: HELM_VERSION,
    versionArgs: ['version', '--short'],
    versionPattern: /v(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'helm.sh/helm/v3',
      moduleVersion: `v${HELM_VERSION}`,
      mainPackage: 'helm.sh/helm/v3/cmd/helm',
      tags: [],
      ldflags: [`-X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION}`],
    },
  },
  pulumi: {
    name: 'pulumi',
    version: PULUMI_VERSION,
    versionArgs: ['version'],
    versionPattern: /v(\d+\.\d+\.\d+)/,
    recipe: {
      module: 'github.com/pulumi/pulumi/pkg/v3',
      moduleVersion: `v${PULUMI_VERSION}`,
      mainPackage: 'github.com/pulumi/pulumi/pkg/v3/cmd/pulumi',
      tags: [],
      // Without the version the Automation API cannot parse `pulumi version`.
      ldflags: [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PULUMI_VERSION}`],
      extraRequires: [['github.com/pulumi/pulumi/sdk/v3', `v${PULUMI_VERSION}`]],
      replaces: [['github.com/atotto/clipboard', 'github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e']],
    },
  },
};

export const isVersionedBinary = (name: BinaryName): name is VersionedBinary => (VERSIONED_BINARY_NAMES as readonly string[]).includes(name);

/**
 * The spec of `name` for a cluster at `kubernetesVersion`: the kube-* components and the kubelet
 * at that version (one of SUPPORTED_KUBERNETES_VERSIONS), everything else at its pin.
 */
export function binarySpec(name: BinaryName, kubernetesVersion: string = KUBERNETES_VERSION): BinarySpec {
  if (kubernetesVersion === KUBERNETES_VERSION || !isVersionedBinary(name)) return BINARIES[name];
  if (!SUPPORTED_KUBERNETES_VERSIONS.includes(kubernetesVersion)) throw new Error(`Kubernetes ${kubernetesVersion} is not supported (supported: ${SUPPORTED_KUBERNETES_VERSIONS.join(', ')})`);
  return kubeComponent(name, kubernetesVersion);
}
