import type { Command } from 'commander';
import { cacheDir } from '../../clusters/host/paths.ts';
import { isTransient } from '../../clusters/kube-client.ts';
import { diff, reconcile, type PlannedChange } from '../../reconciler/reconcile.ts';
import { listRecords } from '../../reconciler/status/app-record.ts';
import { diffText } from '../../reconciler/status/diff-text.ts';
import { historyRows, placementLines, placementRows } from '../../reconciler/failover/report.ts';
import { UsageError } from '../../stacks/errors.ts';
import { placementStore } from './serve-failover.ts';
import { connect } from '../../reconciler/targets.ts';
import type { AppStatus } from '../../reconciler/types.ts';
import { loadStackFile } from '../../stacks/load.ts';
import { durationMs } from '../options.ts';
import { createOutput, table } from '../output.ts';
import type { RunContext } from '../run-context.ts';
import { foldError } from '../status-message.ts';
import { stackFileFrom } from '../stack-file.ts';
import { addonNotes, addonNotesText, saveAppliedAddons, stackAddons } from '../addons.ts';

/** `infra reconcile`, `infra status`, `infra diff`: the GitOps reconciler from the command line. */

interface StackOpts {
  file?: string;
  json?: boolean;
}

export function registerGitops(program: Command, ctx: RunContext): void {
  program
    .command('reconcile')
    .argument('[apps...]', 'only these apps (default: all)')
    .option('-f, --file <stack>', 'stack file (default: ./stack.yaml from infra init, ./stacks/local.yaml, or the embedded local stack)')
    .option('--retry-for <duration>', 'keep retrying unreachable clusters this long (90s, 2m, 1h or seconds; default 2m)', durationMs, 120_000)
    .option('--json', 'print statuses as JSON')
    .description('sync apps from Git to their clusters once (validate, apply, prune, health)')
    .action(async (apps: string[], opts: StackOpts & { retryFor: number }) => {
      const out = createOutput(opts.json === true);
      const stack = await loadStackFile(await stackFileFrom(opts));
      const builtins = await stackAddons(stack);
      const statuses = await reconcile({ stack, apps, builtins, cacheRoot: cacheDir(), retryForMs: opts.retryFor, progress: out.progress, signal: ctx.signal });
      if (builtins.length > 0) await saveAppliedAddons(stack, statuses, !apps || apps.length === 0);
      out.result(statuses, () => statusTable(statuses));
      // Unhealthy is a failure too: a round that leaves a Deployment without replicas must not exit 0.
      if (statuses.some((s) => s.sync === 'Failed' || s.health === 'Degraded' || s.health === 'Progressing')) process.exitCode = 1;
    });

  program
    .command('status')
    .option('-f, --file <stack>', 'stack file (default: ./stack.yaml from infra init, ./stacks/local.yaml, or the embedded local stack)')
    .option('--json', 'print statuses as JSON')
    .option('--history <app>', "the app's placement moves (from, to, reason, time), oldest first")
    .option('--management-kubeconfig <file>', 'read placements from this management cluster (as infra serve --management-kubeconfig)')
    .description('apps × clusters: revision, sync, health, drift, last error (read from the clusters); placement of apps with a failover policy')
    .action(async (opts: StackOpts & { history?: string; managementKubeconfig?: string }) => {
      const out = createOutput(opts.json === true);
      const stack = await loadStackFile(await stackFileFrom(opts));
      const placements = stack.gitops.apps.some((a) => a.placement?.failover) || opts.history ? placementStore(stack.name, opts.managementKubeconfig) : undefined;
      if (opts.history !== undefined) {
        const stored = await placements?.read(opts.history, ctx.signal);
        if (!stored) throw new UsageError(`no placement history for app "${opts.history}"`, { where: placements?.where, hint: 'only apps with placement.failover served by infra serve have one' });
        const rows = historyRows(stored.state);
        out.result(rows, () => (rows.length === 0 ? 'no moves' : table(['TIME', 'FROM', 'TO', 'REASON', 'DETAIL'], rows.map((r) => [r.at, r.from, r.to, r.reason, r.detail]))));
        return;
      }
      const statuses: AppStatus[] = [];
      for (const spec of stack.clusters) {
        const target = connect(spec);
        try {
          for (const r of await listRecords(target.client, ctx.signal)) if (r.status) statuses.push(r.status);
        } catch (err) {
          if (!isTransient(err)) throw err;
          out.progress(`cluster ${spec.name} is unreachable: ${(err as Error).message}`);
        } finally {
          target.client.close();
        }
      }
      statuses.sort((a, b) => a.app.localeCompare(b.app) || a.cluster.localeCompare(b.cluster));
      const rows = placements ? placementRows((await placements.list(ctx.signal)).map((p) => p.state), Date.now()) : [];
      const placed = placementLines(rows);
      const notes = addonNotes(stack);
      // JSON: the bare array of statuses, or {apps, addons?, placements?} when there is more to say.
      const json = notes.length > 0 || rows.length > 0 ? { apps: statuses, ...(notes.length > 0 ? { addons: notes } : {}), ...(rows.length > 0 ? { placements: rows } : {}) } : statuses;
      out.result(json, () => [`${statusTable(statuses)}${addonNotesText(notes)}`, ...(placed.length > 0 ? ['', 'PLACEMENT', ...placed] : [])].join('\n'));
    });

  program
    .command('diff')
    .argument('[apps...]', 'only these apps (default: all)')
    .option('-f, --file <stack>', 'stack file (default: ./stack.yaml from infra init, ./stacks/local.yaml, or the embedded local stack)')
    .option('--json', 'print the plan as JSON')
    .description('what reconcile would change, per cluster, from server-side dry-runs (writes nothing)')
    .action(async (apps: string[], opts: StackOpts) => {
      const out = createOutput(opts.json === true);
      const stack = await loadStackFile(await stackFileFrom(opts));
      const plans = await diff({ stack, apps, builtins: await stackAddons(stack), cacheRoot: cacheDir(), retryForMs: 0, progress: out.progress, signal: ctx.signal });
      out.result(plans, () => diffText(plans));
      process.exitCode = diffExitCode(plans);
    });
}

export function statusTable(statuses: readonly AppStatus[]): string {
  if (statuses.length === 0) return 'no apps';
  return table(
    ['APP', 'CLUSTER', 'REVISION', 'SYNC', 'HEALTH', 'MESSAGE'],
    statuses.map((s) => [
      s.app,
      s.cluster,
      s.revision.slice(0, 12),
      s.sync,
      s.health,
      s.error ? foldError(s.error) : s.drifted.length > 0 ? `${s.drifted.length} drifted: ${s.drifted.map((d) => d.object).join(', ')}` : `${s.objects} objects`,
    ]),
  );
}

/** Like `kubectl diff`: 0 no differences, 1 differences, 2 could not diff (some app × cluster could not be planned). */
export function diffExitCode(plans: readonly (PlannedChange | AppStatus)[]): number {
  if (plans.some((p) => !('apply' in p))) return 2;
  return plans.some((p) => 'apply' in p && (p.apply.length > 0 || p.prune.length > 0)) ? 1 : 0;
}

