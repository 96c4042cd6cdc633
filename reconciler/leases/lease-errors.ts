import { InfraError } from '../../stacks/errors.ts';

/**
 * A live replica hashes apps into another number of shards: the same app would map to different
 * shard Leases, so two replicas could reconcile it at once. This replica takes nothing until the
 * other is gone.
 */
export class ShardCountMismatchError extends InfraError {
  readonly reason = 'ShardCountMismatch';
  override readonly exitCode = 2;
}
