import * as pulumi from '@pulumi/pulumi';
import type { SeedFiles } from './seed.ts';

/**
 * The KVM resources as Pulumi dynamic resources. Their logic lives in providers.ts, loaded
 * lazily (the engine serialises these provider objects, so they only name the module).
 */
const IMPLEMENTATION = new URL('./providers.ts', import.meta.url).pathname;
type Impl = typeof import('./providers.ts');
const impl = (): Promise<Impl> => import(IMPLEMENTATION);

/** Errors cross the engine as their message only: give it where and what to do (`oneLine`). */
async function oneLine<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const e = err as { oneLine?: () => string };
    if (typeof e.oneLine === 'function') throw new Error(e.oneLine());
    throw err;
  }
}

function provider(kind: 'pool' | 'baseVolume' | 'disk' | 'seed' | 'network' | 'domain'): pulumi.dynamic.ResourceProvider {
  return {
    async create(inputs) {
      const m = await impl();
      const f = { pool: m.poolCreate, baseVolume: m.baseVolumeCreate, disk: m.diskCreate, seed: m.seedCreate, network: m.networkCreate, domain: m.domainCreate }[kind];
      return oneLine(() => f(inputs as never) as Promise<pulumi.dynamic.CreateResult>);
    },
    async diff(_id, olds, news) {
      const m = await impl();
      const f = { pool: m.poolDiff, baseVolume: m.baseVolumeDiff, disk: m.diskDiff, seed: m.seedDiff, network: m.networkDiff, domain: m.domainDiff }[kind];
      if (kind === 'domain') await m.noteDomainPreview(olds as never, news as never);
      return f(olds as never, news as never);
    },
    async update(id, olds, news) {
      const m = await impl();
      if (kind === 'disk') return oneLine(() => m.diskUpdate(id, olds as never, news as never));
      if (kind === 'network') return oneLine(() => m.networkUpdate(id, olds as never, news as never));
      if (kind === 'domain') return oneLine(() => m.domainUpdate(id, olds as never, news as never));
      return { outs: { ...olds, ...news } };
    },
    async delete(id, props) {
      const m = await impl();
      const f = { pool: m.poolDelete, baseVolume: m.baseVolumeDelete, disk: m.diskDelete, seed: m.seedDelete, network: m.networkDelete, domain: m.domainDelete }[kind];
      await oneLine(() => f(id, props as never));
    },
  };
}

type In<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class KvmPool extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  constructor(name: string, args: In<import('./providers.ts').PoolInputs>, opts?: pulumi.CustomResourceOptions) {
    super(provider('pool'), `kvm-pool:${name}`, args, opts, 'infra', 'KvmPool');
  }
}

export class KvmBaseVolume extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  declare readonly format: pulumi.Output<'qcow2' | 'raw'>;
  constructor(name: string, args: In<import('./providers.ts').BaseVolumeInputs & { sha256: string }>, opts?: pulumi.CustomResourceOptions) {
    super(provider('baseVolume'), `kvm-image:${name}`, { ...args, path: undefined, format: undefined }, opts, 'infra', 'KvmBaseVolume');
  }
}

export class KvmDisk extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  constructor(name: string, args: In<import('./providers.ts').DiskInputs>, opts?: pulumi.CustomResourceOptions) {
    super(provider('disk'), `kvm-disk:${name}`, { ...args, path: undefined }, opts, 'infra', 'KvmDisk');
  }
}

export class KvmCloudInitSeed extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  declare readonly files: pulumi.Output<SeedFiles>;
  constructor(name: string, args: In<import('./providers.ts').SeedInputs>, opts?: pulumi.CustomResourceOptions) {
    super(provider('seed'), `kvm-seed:${name}`, { ...args, path: undefined, files: undefined, volume: undefined }, opts, 'infra', 'KvmCloudInitSeed');
  }
}

export class KvmNetwork extends pulumi.dynamic.Resource {
  constructor(name: string, args: In<import('./providers.ts').NetworkInputs>, opts?: pulumi.CustomResourceOptions) {
    super(provider('network'), `kvm-network:${name}`, args, opts, 'infra', 'KvmNetwork');
  }
}

export class KvmDomain extends pulumi.dynamic.Resource {
  declare readonly address: pulumi.Output<string>;
  declare readonly bootSeconds: pulumi.Output<number>;
  constructor(name: string, args: In<import('./providers.ts').DomainInputs>, opts?: pulumi.CustomResourceOptions) {
    super(provider('domain'), `kvm-vm:${name}`, { ...args, address: undefined, bootSeconds: undefined }, opts, 'infra', 'KvmDomain');
  }
}
