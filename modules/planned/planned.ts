import * as pulumi from '@pulumi/pulumi';

/**
 * Hosts and clusters on kvm and ssh sites. They take part in previews (so a plan shows the
 * whole estate) but their provisioning is not built yet; `up` stops at them with a clear error.
 */

const IMPLEMENTATION = new URL('./not-yet.ts', import.meta.url).pathname;

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    const impl = await import(IMPLEMENTATION);
    return impl.create(inputs);
  },
};

export class PlannedHost extends pulumi.dynamic.Resource {
  constructor(name: string, props: Record<string, pulumi.Input<unknown>>, opts?: pulumi.CustomResourceOptions) {
    super(provider, `host:${name}`, { kind: 'host', name, what: 'creating or preparing hosts', ...props }, opts, 'infra', 'Host');
  }
}

export class PlannedCluster extends pulumi.dynamic.Resource {
  constructor(name: string, props: Record<string, pulumi.Input<unknown>>, opts?: pulumi.CustomResourceOptions) {
    super(provider, `cluster:${name}`, { kind: 'cluster', name, what: `provisioning ${String(props['distribution'])} clusters`, ...props }, opts, 'infra', 'Cluster');
  }
}
