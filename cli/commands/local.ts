import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { LocalClusterInfo } from '../../clusters/local/local-cluster.ts';
import { BINARIES, KUBERNETES_VERSION, ON_DEMAND_BINARIES, SUPPORTED_KUBERNETES_VERSIONS, VERSIONED_BINARY_NAMES, type BinaryName } from '../../clusters/tools/versions.ts';
import { wholeNumber } from '../options.ts';
import { createOutput, table } from '../output.ts';
import type { RunContext } from '../run-context.ts';

// Loaded when a command runs, so `infra --help` and the other commands start fast.
const localClusters = () => import('../../clusters/local/local-cluster.ts');

/** `infra local ...`: real Kubernetes control planes as local processes, like kind or k3d. */
export function registerLocal(program: Command, ctx: RunContext): void {
  const local = program.command('local').description('run real Kubernetes clusters as local processes (etcd, apiserver, kwok nodes)');

  local
    .command('up')
    .argument('<name>', 'cluster name')
    .option('--nodes <n>', 'number of fake (kwok) nodes', wholeNumber(0, 1000))
    .option('--port <port>', 'apiserver port on 127.0.0.1 (default: a free one)', wholeNumber(1, 65535))
    .option('--upgrade', 'move a cluster made by an older infra to the versions pinned now (one minor version at a time)')
    .option('--json', 'print the result as JSON')
    .description('create a local cluster, or restart whatever of it died')
    .action(async (name: string, opts: { nodes?: number; port?: number; upgrade?: boolean; json?: boolean }) => {
      const out = createOutput(opts.json === true);
      const cluster = await (await localClusters()).upLocalCluster(name, {
        nodes: opts.nodes,
        apiserverPort: opts.port,
        upgrade: opts.upgrade === true,
        progress: out.progress,
        signal: ctx.signal,
      });
      out.result(summary(cluster), () =>
        [
          `local cluster "${cluster.name}" is up (${cluster.nodes} node(s))`,
          `  server:     ${cluster.server}`,
          `  kubeconfig: ${cluster.kubeconfig}`,
          cluster.started.length > 0 ? `  started:    ${cluster.started.join(', ')}` : '  everything was already running',
        ].join('\n'),
      );
    });

  local
    .command('down')
    .argument('<name>', 'cluster name')
    .option('--purge', 'also delete its data (etcd, certificates, kubeconfig)')
    .option('--json', 'print the result as JSON')
    .description('stop a local cluster; its data stays unless --purge')
    .action(async (name: string, opts: { purge?: boolean; json?: boolean }) => {
      const out = createOutput(opts.json === true);
      const result = await (await localClusters()).downLocalCluster(name, { purge: opts.purge === true });
      out.result(result, () => `local cluster "${name}" is down${result.purged ? ' and its data deleted' : ' (data kept)'}`);
    });

  local
    .command('list')
    .option('--json', 'print the result as JSON')
    .description('list local clusters and their processes')
    .action(async (opts: { json?: boolean }) => {
      const out = createOutput(opts.json === true);
      const clusters = await (await localClusters()).listLocalClusters();
      out.result(clusters.map(summary), () =>
        clusters.length === 0
          ? 'no local clusters (create one with `infra local up NAME`)'
          : table(
              ['NAME', 'STATUS', 'NODES', 'SERVER'],
              clusters.map((c) => [c.name, status(c), String(c.nodes), c.server]),
            ),
      );
    });

  local
    .command('kubeconfig')
    .argument('<name>', 'cluster name')
    .option('--json', 'print path and content as JSON')
    .option('--path', 'print only the path of the kubeconfig file')
    .description('print the admin kubeconfig of a local cluster')
    .action(async (name: string, opts: { json?: boolean; path?: boolean }) => {
      const out = createOutput(opts.json === true);
      const cluster = await (await localClusters()).describeLocalCluster(name);
      const content = await readFile(cluster.kubeconfig, 'utf8');
      out.result({ name, path: cluster.kubeconfig, kubeconfig: content }, () => (opts.path ? cluster.kubeconfig : content.trimEnd()));
    });

  local
    .command('binaries')
    .option('--json', 'print the result as JSON')
    .option('--all', 'also the add-on binaries built only on demand (runsc and its containerd shim)')
    .description('find or build every pinned tool: etcd, Kubernetes (and the other version ssh clusters may run), kwok, kustomize, helm, pulumi, flanneld')
    .action(async (opts: { json?: boolean; all?: boolean }) => {
      const out = createOutput(opts.json === true);
      const { resolveBinaries } = await import('../../clusters/tools/resolver.ts');
      const names = (Object.keys(BINARIES) as BinaryName[]).filter((n) => opts.all === true || !ON_DEMAND_BINARIES.includes(n));
      const found = await resolveBinaries(names, { progress: out.progress, signal: ctx.signal });
      const rows = names.map((n) => found[n]);
      // The other supported Kubernetes versions of clusters on ssh hosts (what they upgrade from).
      for (const version of SUPPORTED_KUBERNETES_VERSIONS.filter((v) => v !== KUBERNETES_VERSION)) {
        const extra = await resolveBinaries(VERSIONED_BINARY_NAMES, { progress: out.progress, signal: ctx.signal, kubernetesVersion: version });
        rows.push(...VERSIONED_BINARY_NAMES.map((n) => extra[n]));
      }
      out.result(rows, () => table(['BINARY', 'VERSION', 'SOURCE', 'PATH'], rows.map((b) => [b.name, b.version, b.source, b.path])));
    });
}

function summary(c: LocalClusterInfo) {
  return { name: c.name, server: c.server, kubeconfig: c.kubeconfig, nodes: c.nodes, status: status(c), components: c.components };
}

function status(c: LocalClusterInfo): string {
  const states = Object.values(c.components);
  if (states.every((s) => s === 'running')) return 'running';
  if (states.every((s) => s === 'stopped')) return 'stopped';
  return 'degraded';
}
