import { Command, CommanderError } from 'commander';
import { AbortError, InfraError, isAbort } from '../stacks/errors.ts';
import { registerClusters } from './commands/clusters.ts';
import { registerEngine } from './commands/engine.ts';
import { registerEtcd } from './commands/etcd.ts';
import { registerGitops } from './commands/gitops.ts';
import { registerHook } from './commands/hook.ts';
import { registerInit } from './commands/init.ts';
import { registerLocal } from './commands/local.ts';
import { registerSchema } from './commands/schema.ts';
import { registerServe } from './commands/serve.ts';
import type { RunContext } from './run-context.ts';

/**
 * The composition root: builds the command tree and is the one place where errors become
 * exit codes. Known failures print one line (what, where, how to fix); anything else is a bug
 * and prints its stack.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let firstSignalAt = 0;
  const onSignal = () => {
    if (!controller.signal.aborted) {
      firstSignalAt = Date.now();
      // Said at once: the engine may end the process before the abort unwinds.
      if (!stopsOnSignal) process.stderr.write('\ninterrupted: stopping at the next safe point; run the same command again to finish\n');
      controller.abort(new AbortError('interrupted', { hint: 'run the same command again to finish' }));
      return;
    }
    // One Ctrl-C can arrive twice (the terminal's and the launcher's copy); a later one means "now".
    if (Date.now() - firstSignalAt < 1_000) return;
    process.stderr.write('interrupted again: stopping now\n');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let stopsOnSignal = false;
  const ctx: RunContext = { signal: controller.signal, stopsOnSignal: () => (stopsOnSignal = true) };

  const program = new Command('infra')
    .description('multi-cluster infrastructure orchestrator: declarative stacks and GitOps')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerEngine(program, ctx);
  registerLocal(program, ctx);
  registerEtcd(program, ctx);
  registerGitops(program, ctx);
  registerHook(program, ctx);
  registerServe(program, ctx);
  registerClusters(program, ctx);
  registerSchema(program);
  registerInit(program);
  for (const cmd of program.commands) cmd.exitOverride();

  try {
    await program.parseAsync(argv, { from: 'user' });
    if (controller.signal.aborted && !stopsOnSignal) return exitCodeFor(controller.signal.reason, controller.signal);
    // A command that finished but found failures (e.g. an app that did not sync) sets exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return exitCodeFor(err, controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The exit code for how a command ended (exported for tests). */
export function exitCodeFor(err: unknown, signal: AbortSignal): number {
  // Whatever an interrupted operation threw on its way out (an engine or API error included), it ends as an interrupt.
  if (isAbort(err, signal)) {
    process.stderr.write('error: interrupted — run the same command again to finish\n');
    return 130;
  }
  if (err instanceof CommanderError) {
    // Commander already printed usage or help; help and version exit 0.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof InfraError) {
    process.stderr.write(`error: ${err.oneLine()}\n`);
    return err.exitCode;
  }
  process.stderr.write(`internal error (a bug in infra, please report it):\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 70;
}
