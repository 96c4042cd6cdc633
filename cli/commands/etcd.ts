import type { Command } from 'commander';
import { pathExists } from '../../clusters/fs.ts';
import { defaultSnapshotName } from '../../clusters/etcd/etcd-commands.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { createOutput } from '../output.ts';
import type { RunContext } from '../run-context.ts';
import { stackFileFrom } from '../stack-file.ts';

// Loaded when a command runs, so `infra --help` and the other commands start fast.
const local = () => import('../../clusters/local/etcd-backup.ts');
const remote = () => import('../../modules/distributions/binaries/etcd-snapshot/stack-etcd.ts');

/** An `infra local` cluster of that name, else a cluster of the stack on SSH hosts. */
async function isLocal(cluster: string): Promise<boolean> {
  return /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(cluster) && (await pathExists(clusterLayout(cluster).stateFile));
}

async function stackOf(opts: { file?: string }) {
  const file = await stackFileFrom(opts);
  const { loadStackFile } = await import('../../stacks/load.ts');
  return { file, stack: await loadStackFile(file) };
}

/** `infra etcd ...`: snapshots of a cluster's etcd, and restoring one. */
export function registerEtcd(program: Command, ctx: RunContext): void {
  const etcd = program.command('etcd').description("save and restore a cluster's etcd data (local clusters, and kubernetes clusters on ssh hosts)");

  etcd
    .command('snapshot')
    .argument('<cluster>', 'a local cluster, or a cluster of the stack on ssh hosts')
    .option('-o, --output <file>', 'snapshot file (default: ./<cluster>-etcd-<UTC time>.db)')
    .option('-f, --file <stack>', 'stack file defining the cluster (for clusters on ssh hosts)')
    .option('--json', 'print the result as JSON')
    .description('save a consistent snapshot of etcd while the cluster runs (file 0600, SHA-256 in <file>.sha256)')
    .action(async (cluster: string, opts: { output?: string; file?: string; json?: boolean }) => {
      const out = createOutput(opts.json === true);
      const file = opts.output ?? defaultSnapshotName(cluster, new Date());
      const options = { progress: out.progress, signal: ctx.signal };
      let r: { cluster: string; file: string; sha256: string; revision: number; totalKeys: number; totalSize: number };
      if (await isLocal(cluster)) r = await (await local()).snapshotLocalCluster(cluster, file, options);
      else {
        const { file: stackFile, stack } = await stackOf(opts);
        r = await (await remote()).snapshotStackCluster(stack, stackFile, cluster, file, options);
      }
      out.result(r, () =>
        [`snapshot of "${r.cluster}" saved: ${r.file}`, `  revision ${r.revision}, ${r.totalKeys} keys, ${r.totalSize} bytes`, `  sha256 ${r.sha256} (in ${r.file}.sha256)`].join('\n'),
      );
    });

  etcd
    .command('restore')
    .argument('<cluster>', 'a local cluster, or a cluster of the stack on ssh hosts')
    .argument('<snapshot>', 'snapshot file, with its <file>.sha256 beside it')
    .option('-f, --file <stack>', 'stack file defining the cluster (for clusters on ssh hosts)')
    .option('--json', 'print the result as JSON')
    .description("replace the cluster's etcd data with a snapshot: stops the control plane, swaps the data, starts it, waits until it works")
    .action(async (cluster: string, snapshot: string, opts: { file?: string; json?: boolean }) => {
      const out = createOutput(opts.json === true);
      const options = { progress: out.progress, signal: ctx.signal };
      if (await isLocal(cluster)) {
        const r = await (await local()).restoreLocalCluster(cluster, snapshot, options);
        out.result(r, () => `local cluster "${r.cluster}" runs on ${r.file} (revision ${r.revision}, ${r.totalKeys} keys) at ${r.server}`);
        return;
      }
      const { file: stackFile, stack } = await stackOf(opts);
      const r = await (await remote()).restoreStackCluster(stack, stackFile, cluster, snapshot, options);
      out.result(r, () => `cluster "${r.cluster}" runs on ${r.file} (revision ${r.revision}, ${r.totalKeys} keys) on ${r.members.join(', ')}`);
    });
}
