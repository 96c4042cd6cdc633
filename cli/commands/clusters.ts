import type { Command } from 'commander';
import { KubeClient } from '../../clusters/kube-client.ts';
import { ConfigMapHealthStore, defaultHealthFile, FileHealthStore, HEALTH_NAMESPACE, type HealthStore } from '../../clusters/health/health-store.ts';
import { HEALTH_TABLE_HEADER, healthRows, healthTableCells } from '../../clusters/health/health-table.ts';
import { loadStackFile } from '../../stacks/load.ts';
import { createOutput, table } from '../output.ts';
import type { RunContext } from '../run-context.ts';
import { stackFileFrom } from '../stack-file.ts';

/** `infra clusters`: the stack's clusters with the health `infra serve` recorded for them (state and since when). */

interface ClustersOpts {
  file?: string;
  json?: boolean;
  managementKubeconfig?: string;
  healthFile?: string;
  healthNamespace: string;
}

export function registerClusters(program: Command, ctx: RunContext): void {
  program
    .command('clusters')
    .option('-f, --file <stack>', 'stack file (default: ./stack.yaml from infra init, ./stacks/local.yaml, or the embedded local stack)')
    .option('--management-kubeconfig <file>', 'read health from this management cluster (as infra serve --management-kubeconfig writes it)')
    .option('--health-namespace <ns>', 'namespace of the health ConfigMaps in the management cluster', HEALTH_NAMESPACE)
    .option('--health-file <file>', 'read health from this file (default: $INFRA_HOME/serve/health-<stack>.json, where infra serve writes it without a management cluster)')
    .option('--json', 'print as JSON')
    .description("the stack's clusters, their labels and health (Ready/NotReady/Unknown) since when, as infra serve recorded it")
    .action(async (opts: ClustersOpts) => {
      const out = createOutput(opts.json === true);
      const stack = await loadStackFile(await stackFileFrom(opts));
      const client = opts.managementKubeconfig ? new KubeClient('management', opts.managementKubeconfig) : undefined;
      const store: HealthStore = client ? new ConfigMapHealthStore(client, opts.healthNamespace) : new FileHealthStore(opts.healthFile ?? defaultHealthFile(stack.name));
      try {
        const rows = healthRows(stack.clusters, await store.load(ctx.signal));
        out.result(rows, () => table(HEALTH_TABLE_HEADER, rows.map(healthTableCells)));
      } finally {
        client?.close();
      }
    });
}
