import type { Command } from 'commander';
import { cacheDir } from '../../clusters/host/paths.ts';
import type { OperationResult, StackEngine } from '../../modules/engine/engine.ts';
import type { AppStatus } from '../../reconciler/types.ts';
import { loadStackFile, type StackSpec } from '../../stacks/load.ts';
import { createOutput, table, type Output } from '../output.ts';
import type { RunContext } from '../run-context.ts';
import { stackFileFrom } from '../stack-file.ts';
import { statusTable } from './gitops.ts';
import { addonPreview, saveAppliedAddons, stackAddons } from '../addons.ts';

/** `infra preview | up | refresh | destroy | stack ls`: the stack on the Pulumi engine. */

const engine = () => import('../../modules/engine/engine.ts');

interface Opts {
  file?: string;
  json?: boolean;
}

export function registerEngine(program: Command, ctx: RunContext): void {
  const withStack = (cmd: Command) => cmd.option('-f, --file <stack>', 'stack file (default: ./stack.yaml from infra init, ./stacks/local.yaml, or the embedded local stack)').option('--json', 'print the result as JSON');

  withStack(program.command('preview'))
    .description('show what `up` would change (refreshes state first)')
    .action(async (opts: Opts) => {
      const out = createOutput(opts.json === true);
      // Add-on problems (path and line) stop the preview before the engine starts.
      const addons = await addonPreview(await loadStackFile(await stackFileFrom(opts)));
      const result = await operate(opts, ctx, out, false, (e) => e.preview());
      out.result({ ...result, addons: addons.changes }, () => `${planText(result)}${addons.text}`);
    });

  withStack(program.command('up'))
    .option('--skip-apps', 'provision only; do not reconcile the GitOps apps')
    .description('provision the stack (repairing what died), then sync its apps and print their status')
    .action(async (opts: Opts & { skipApps?: boolean }) => {
      const out = createOutput(opts.json === true);
      // Every binary the stack runs is downloaded or built here, with progress lines, before
      // the engine starts: inside the engine's provider a 7-minute build would be silent.
      const stack = await loadStackFile(await stackFileFrom(opts));
      const builtins = await stackAddons(stack); // add-on problems (path and line) stop before anything changes
      const result = await operate(opts, ctx, out, true, (e) => e.up(), (spec) => resolveStackBinaries(spec, out, ctx));
      let apps: AppStatus[] = [];
      if (!opts.skipApps && (stack.gitops.apps.length > 0 || builtins.length > 0)) {
        const { reconcile } = await import('../../reconciler/reconcile.ts');
        apps = await reconcile({ stack, builtins, cacheRoot: cacheDir(), progress: out.progress, signal: ctx.signal, retryForMs: 60_000 });
        if (builtins.length > 0) await saveAppliedAddons(stack, apps);
        if (apps.some((a) => a.sync === 'Failed' || a.health !== 'Healthy')) process.exitCode = 1;
      }
      out.result({ ...result, apps }, () => `${summaryText(result)}\n\n${statusTable(apps)}`);
    });

  withStack(program.command('refresh'))
    .description('read the real state of every resource into the stack (shows what died)')
    .action(async (opts: Opts) => {
      const out = createOutput(opts.json === true);
      const result = await operate(opts, ctx, out, true, (e) => e.refresh());
      out.result(result, () => summaryText(result));
    });

  withStack(program.command('destroy'))
    .description('delete every resource of the stack (clusters, processes, data)')
    .action(async (opts: Opts) => {
      const out = createOutput(opts.json === true);
      const result = await operate(opts, ctx, out, true, (e) => e.destroy());
      out.result(result, () => summaryText(result));
    });

  const stackCmd = program.command('stack').description('stack state');
  withStack(stackCmd.command('ls'))
    .description('list the resources recorded in the stack state')
    .action(async (opts: Opts) => {
      const out = createOutput(opts.json === true);
      const spec = await loadStackFile(await stackFileFrom(opts));
      const { StackEngine } = await engine();
      const e = await StackEngine.open(spec, { lock: false, progress: out.progress, signal: ctx.signal });
      try {
        const resources = await e.resources();
        out.result(resources, () =>
          resources.length === 0 ? `stack "${spec.name}" has no resources` : table(['TYPE', 'NAME', 'STATE'], resources.map((r) => [r.type.split(':').pop() ?? r.type, r.name, r.outputs['running'] === false ? 'not running' : 'ok'])),
        );
      } finally {
        await e.close();
      }
    });
}

async function operate(
  opts: Opts,
  ctx: RunContext,
  out: Output,
  lock: boolean,
  op: (e: StackEngine) => Promise<OperationResult>,
  beforeEngine?: (spec: StackSpec) => Promise<void>,
): Promise<OperationResult> {
  const spec = await loadStackFile(await stackFileFrom(opts));
  await beforeEngine?.(spec);
  const { StackEngine } = await engine();
  const e = await StackEngine.open(spec, { lock, progress: out.progress, signal: ctx.signal });
  try {
    return await op(e);
  } finally {
    await e.close();
  }
}

async function resolveStackBinaries(spec: StackSpec, out: Output, ctx: RunContext): Promise<void> {
  const [{ resolveBinaries }, { binariesAndVersionsFor }] = await Promise.all([import('../../clusters/tools/resolver.ts'), import('../../clusters/tools/stack-binaries.ts')]);
  const { pinned, versioned } = binariesAndVersionsFor(spec);
  await resolveBinaries(pinned, { progress: out.progress, signal: ctx.signal });
  // Clusters on ssh hosts at another supported Kubernetes version (e.g. before an upgrade).
  for (const v of versioned) await resolveBinaries(v.names, { progress: out.progress, signal: ctx.signal, kubernetesVersion: v.version });
}

function summaryText(r: OperationResult): string {
  const changed = Object.entries(r.changes).filter(([k, n]) => k !== 'same' && n > 0);
  const same = r.changes['same'] ?? 0;
  if (changed.length === 0) return `${r.operation} of stack "${r.stack}": no changes (${same} unchanged)`;
  return `${r.operation} of stack "${r.stack}": ${changed.map(([k, n]) => `${n} ${k}`).join(', ')}${same ? `, ${same} unchanged` : ''}`;
}

function planText(r: OperationResult): string {
  const symbol: Record<string, string> = { create: '+', update: '~', delete: '-', replace: '+-', 'create-replacement': '+-', 'delete-replaced': '-' };
  const lines = r.steps.map((s) => `  ${symbol[s.op] ?? s.op} ${s.type.split(':').pop()} ${s.name}${s.detail && s.detail.length > 0 ? `  ${s.op}: ${s.detail.join(', ')}` : ''}`);
  return lines.length === 0 ? `stack "${r.stack}": no changes` : `stack "${r.stack}" would change:\n${lines.join('\n')}`;
}
