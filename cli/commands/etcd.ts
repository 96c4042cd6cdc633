import type { Command } from 'commander';
import { defaultSnapshotName } from '../../clusters/etcd/etcd-commands.ts';
import { createOutput } from '../output.ts';
import type { RunContext } from '../run-context.ts';

// Loaded when a command runs, so `infra --help` and the other commands start fast.
const backup = () => import('../../clusters/local/etcd-backup.ts');

/** `infra etcd ...`: snapshots of a cluster's etcd, and restoring one. */
export function registerEtcd(program: Command, ctx: RunContext): void {
  const etcd = program.command('etcd').description("save and restore a cluster's etcd data (local clusters)");

  etcd
    .command('snapshot')
    .argument('<cluster>', 'local cluster name')
    .option('-o, --output <file>', 'snapshot file (default: ./<cluster>-etcd-<UTC time>.db)')
    .option('--json', 'print the result as JSON')
    .description('save a consistent snapshot of etcd while the cluster runs (file 0600, SHA-256 in <file>.sha256)')
    .action(async (cluster: string, opts: { output?: string; json?: boolean }) => {
      const out = createOutput(opts.json === true);
      const file = opts.output ?? defaultSnapshotName(cluster, new Date());
      const r = await (await backup()).snapshotLocalCluster(cluster, file, { progress: out.progress, signal: ctx.signal });
      out.result(r, () =>
        [`snapshot of "${r.cluster}" saved: ${r.file}`, `  revision ${r.revision}, ${r.totalKeys} keys, ${r.totalSize} bytes`, `  sha256 ${r.sha256} (in ${r.file}.sha256)`].join('\n'),
      );
    });

  etcd
    .command('restore')
    .argument('<cluster>', 'local cluster name')
    .argument('<file>', 'snapshot file, with its <file>.sha256 beside it')
    .option('--json', 'print the result as JSON')
    .description("replace the cluster's etcd data with a snapshot: stops the control plane, swaps the data, starts it, waits until it works")
    .action(async (cluster: string, file: string, opts: { json?: boolean }) => {
      const out = createOutput(opts.json === true);
      const r = await (await backup()).restoreLocalCluster(cluster, file, { progress: out.progress, signal: ctx.signal });
      out.result(r, () => `local cluster "${r.cluster}" runs on ${r.file} (revision ${r.revision}, ${r.totalKeys} keys) at ${r.server}`);
    });
}
