import * as pulumi from '@pulumi/pulumi';
import type { HostKeyPin } from './host-key-policy.ts';

const IMPLEMENTATION = new URL('./host-provider.ts', import.meta.url).pathname;
// Typed errors (host key, unreachable) cross the engine as a marker line, so `up` exits with their code.
const CARRIER = new URL('../engine/provider-error.ts', import.meta.url).pathname;

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    try {
      return await (await import(IMPLEMENTATION)).create(inputs);
    } catch (err) {
      throw (await import(CARRIER)).carryAcrossEngine(err);
    }
  },
  async read(id, props) {
    try {
      return await (await import(IMPLEMENTATION)).read(id, props);
    } catch (err) {
      throw (await import(CARRIER)).carryAcrossEngine(err);
    }
  },
  async diff(_id, olds, news) {
    return (await import(IMPLEMENTATION)).diff(olds, news);
  },
  async update(id, olds, news) {
    return (await import(IMPLEMENTATION)).update(id, olds, news);
  },
  async delete() {},
};

/** A machine reached over SSH, its host key pinned in the state on first use. */
export class SshHost extends pulumi.dynamic.Resource {
  declare readonly pins: pulumi.Output<HostKeyPin[]>;
  declare readonly reachable: pulumi.Output<boolean>;
  constructor(name: string, args: { name: string; address: string; user: string; port: number; pins: HostKeyPin[]; machine?: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(provider, `host:${name}`, { ...args, reachable: undefined }, opts, 'infra', 'Host');
  }
}
