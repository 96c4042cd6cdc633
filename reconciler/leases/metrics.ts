import type { Gauge } from 'prom-client';
import { shardName } from './names.ts';

/** Lease ownership per shard, 1 held / 0 not: the serve registry's `infra_lease_owned{lease="infra-shard-N"}`. */
export interface ShardGauge {
  set(shard: number, owned: boolean): void;
}

export function shardGauge(gauge: Gauge<'lease'>): ShardGauge {
  return { set: (shard, owned) => gauge.set({ lease: shardName(shard) }, owned ? 1 : 0) };
}
