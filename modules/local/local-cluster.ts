import * as pulumi from '@pulumi/pulumi';

/**
 * A local cluster as a Pulumi resource. The provider is deliberately thin: each method imports
 * the implementation by absolute path when it runs, so Pulumi's closure serializer captures one
 * string (importing modules into a serialized provider breaks it, pulumi/pulumi#8090, #13960).
 */

const IMPLEMENTATION = new URL('./local-cluster-provider.ts', import.meta.url).pathname;

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    const impl = await import(IMPLEMENTATION);
    return impl.create(inputs);
  },
  async read(id, props) {
    const impl = await import(IMPLEMENTATION);
    return impl.read(id, props);
  },
  async diff(_id, olds, news) {
    const impl = await import(IMPLEMENTATION);
    return impl.diff(olds, news);
  },
  async update(id, olds, news) {
    const impl = await import(IMPLEMENTATION);
    return impl.update(id, olds, news);
  },
  async delete(id) {
    const impl = await import(IMPLEMENTATION);
    await impl.remove(id);
  },
};

export interface LocalClusterArgs {
  readonly name: pulumi.Input<string>;
  readonly nodes: pulumi.Input<number>;
}

export class LocalCluster extends pulumi.dynamic.Resource {
  declare readonly server: pulumi.Output<string>;
  declare readonly kubeconfigPath: pulumi.Output<string>;
  declare readonly running: pulumi.Output<boolean>;

  constructor(name: string, args: LocalClusterArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, `local:${name}`, { ...args, server: undefined, kubeconfigPath: undefined, running: undefined }, opts, 'infra', 'LocalCluster');
  }
}
