import * as pulumi from '@pulumi/pulumi';

/**
 * Pulumi resources of a `binaries` cluster: the cluster (PKI, kubeconfig), one per
 * control-plane host and one per node. Thin providers that import their implementation by path
 * when they run (see modules/local/local-cluster.ts for why).
 */

export function providerAt(file: string): pulumi.dynamic.ResourceProvider {
  const impl = new URL(file, import.meta.url).pathname;
  // Typed errors cross the engine as a marker line (modules/engine/provider-error.ts), so `up` exits with their code.
  const carrier = new URL('../../engine/provider-error.ts', import.meta.url).pathname;
  const call = async <T>(work: (m: Record<string, (...a: unknown[]) => Promise<T>>) => Promise<T>): Promise<T> => {
    try {
      return await work(await import(impl));
    } catch (err) {
      throw (await import(carrier)).carryAcrossEngine(err);
    }
  };
  return {
    async create(inputs) {
      return call((m) => m['create']!(inputs));
    },
    async read(id, props) {
      return call(async (m) => (m['read'] ? m['read'](id, props) : { id, props }));
    },
    async diff(_id, olds, news) {
      return call((m) => m['diff']!(olds, news));
    },
    async update(id, olds, news) {
      return call((m) => m['update']!(id, olds, news));
    },
    async delete(id, props) {
      await call((m) => m['remove']!(id, props));
    },
  };
}

const clusterProvider = providerAt('./effects/cluster-provider.ts');
const memberProvider = providerAt('./effects/member-provider.ts');

export class BinariesCluster extends pulumi.dynamic.Resource {
  declare readonly pki: pulumi.Output<unknown>;
  declare readonly kubeconfig: pulumi.Output<string>;
  declare readonly server: pulumi.Output<string>;
  declare readonly kubeconfigPath: pulumi.Output<string>;

  constructor(name: string, args: { topology: pulumi.Input<unknown>; access: pulumi.Input<unknown> }, opts?: pulumi.CustomResourceOptions) {
    super(clusterProvider, `cluster:${name}`, { ...args, pki: undefined, kubeconfig: undefined, server: undefined, kubeconfigPath: undefined }, { ...opts, additionalSecretOutputs: ['pki', 'kubeconfig'] }, 'infra', 'BinariesCluster');
  }
}

export interface MemberArgs {
  readonly role: 'control-plane' | 'node';
  readonly cluster: string;
  readonly host: string;
  readonly topology: pulumi.Input<unknown>;
  readonly pki: pulumi.Input<unknown>;
  readonly access: pulumi.Input<unknown>;
  readonly cgroupDriver: 'systemd' | 'cgroupfs';
}

/** etcd and the control plane on one host. */
export class ControlPlaneMember extends pulumi.dynamic.Resource {
  declare readonly inSync: pulumi.Output<boolean>;
  constructor(args: MemberArgs, opts?: pulumi.CustomResourceOptions) {
    super(memberProvider, `control-plane:${args.cluster}:${args.host}`, { ...args, planDigest: undefined, inSync: undefined, mutations: undefined }, { ...opts, additionalSecretOutputs: ['pki'] }, 'infra', 'ControlPlaneMember');
  }
}

/** containerd, runc and a kubelet on one host. */
export class ClusterNode extends pulumi.dynamic.Resource {
  declare readonly inSync: pulumi.Output<boolean>;
  constructor(args: MemberArgs, opts?: pulumi.CustomResourceOptions) {
    super(memberProvider, `node:${args.cluster}:${args.host}`, { ...args, planDigest: undefined, inSync: undefined, mutations: undefined }, { ...opts, additionalSecretOutputs: ['pki'] }, 'infra', 'ClusterNode');
  }
}
