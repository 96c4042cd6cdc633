import { Gauge, type Registry } from 'prom-client';

/** Lease ownership per shard, 1 held / 0 not, on the serve registry (`infra_lease_shard_owned{shard}`). */
export interface ShardGauge {
  set(shard: number, owned: boolean): void;
}

export function shardGauge(registry: Registry): ShardGauge {
  const existing = registry.getSingleMetric('infra_lease_shard_owned');
  const gauge = (existing as Gauge<'shard'> | undefined) ?? new Gauge({ name: 'infra_lease_shard_owned', help: 'Whether this replica holds the shard Lease (1) or not (0)', labelNames: ['shard'], registers: [registry] });
  return { set: (shard, owned) => gauge.set({ shard: String(shard) }, owned ? 1 : 0) };
}
