import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { gitDirOf, hookPaths, installHook, uninstallHook } from '../../reconciler/webhooks/hook-files.ts';
import { runNewest } from '../../reconciler/webhooks/newest-run.ts';
import { deliver, genericDelivery, NotifyError, pushedBranches, secretFromFile } from '../../reconciler/webhooks/notify.ts';
import type { HookPlan } from '../../reconciler/webhooks/post-receive.ts';
import { UsageError } from '../../stacks/errors.ts';
import type { GitSourceSpec } from '../../stacks/gitops.ts';
import { loadStackFile } from '../../stacks/load.ts';
import { cacheDir } from '../../clusters/host/paths.ts';
import { reconcile } from '../../reconciler/reconcile.ts';
import { durationMs } from '../options.ts';
import { createOutput } from '../output.ts';
import { statusTable } from './gitops.ts';
import type { RunContext } from '../run-context.ts';

/**
 * `infra hook install|uninstall|notify`: a post-receive hook for self-hosted bare repositories.
 * With a server it notifies `infra serve` on the generic webhook endpoint (HMAC-signed); without
 * one it runs `infra reconcile -f <stack>` in the background. The hook runs this checkout's
 * infra by absolute path (this Node, this cli/bin/infra.js).
 */

const INFRA_JS = fileURLToPath(new URL('../bin/infra.js', import.meta.url));

interface InstallOpts {
  server?: string;
  source?: string;
  secretFile?: string;
  repository?: string;
  file?: string;
}

interface NotifyOpts {
  server: string;
  source: string;
  secretFile: string;
  repository: string;
  timeout: number;
}

export function registerHook(program: Command, ctx: RunContext): void {
  const hook = program.command('hook').description('post-receive hook of a self-hosted Git repository: a push triggers infra');

  hook
    .command('install')
    .argument('<repo>', 'the (bare) repository that receives pushes')
    .option('--server <url>', 'infra serve base URL, e.g. http://127.0.0.1:8080 (the hook notifies it)')
    .option('--source <name>', 'the stack source this repository is (the endpoint is /webhooks/generic/<source>)')
    .option('--secret-file <file>', 'file holding the source webhook secret (read by the hook at each push, never copied)')
    .option('--repository <url>', 'what the notification names as repository (default: the repository path)')
    .option('-f, --file <stack>', 'stack file: without --server the hook runs `infra reconcile -f` on it; with --server it supplies --source and --secret-file')
    .description('install (or update) the post-receive hook; a hook already there is kept and called first')
    .action(async (repo: string, opts: InstallOpts) => {
      const plan = await planFor(repo, opts);
      const done = await installHook(repo, plan);
      const what = plan.action.mode === 'notify' ? `notifies ${plan.action.server} as source ${plan.action.source}` : `runs infra reconcile -f ${plan.action.stackFile} in the background (log: ${plan.action.logFile})`;
      process.stdout.write(`${done.changed ? 'installed' : 'already installed'} ${done.hook}: on each push it ${what}\n${done.chained ? `calls first the hook that was there: ${done.chained}\n` : ''}`);
    });

  hook
    .command('uninstall')
    .argument('<repo>', 'the repository')
    .description("remove infra's post-receive hook and put back the hook it chained")
    .action(async (repo: string) => {
      const done = await uninstallHook(repo);
      if (!done.removed) process.stdout.write(`no infra hook in ${(await hookPaths(repo)).hooksDir}: nothing to do\n`);
      else process.stdout.write(`removed infra's hook${done.restored ? `; restored ${done.restored}` : ''}\n`);
    });

  hook
    .command('notify')
    .requiredOption('--server <url>', 'infra serve base URL')
    .requiredOption('--source <name>', 'source name')
    .requiredOption('--secret-file <file>', 'file holding the webhook secret (never pass the secret itself)')
    .requiredOption('--repository <url>', 'repository named in the body')
    .option('--timeout <duration>', 'per request (default 3s)', durationMs, 3_000)
    .description('read `<old> <new> <ref>` lines on stdin (as a post-receive hook does) and POST a signed push per branch')
    .action(async (opts: NotifyOpts) => {
      const refs = pushedBranches(await readStdin());
      if (refs.length === 0) return;
      let secret: Buffer;
      try {
        secret = secretFromFile(await readFile(opts.secretFile));
      } catch (err) {
        throw new NotifyError(`cannot read the webhook secret: ${(err as NodeJS.ErrnoException).code ?? err}`, { where: opts.secretFile, hint: 'the push is stored; fix the file (readable by the user git runs hooks as) and push again' });
      }
      if (secret.length === 0) throw new NotifyError('the webhook secret is empty', { where: opts.secretFile, hint: 'put the same long random value infra serve reads for this source in it' });
      for (const [i, push] of refs.entries()) {
        const d = genericDelivery({ server: opts.server, source: opts.source, repository: opts.repository, secret, push });
        try {
          const status = await deliver(d, opts.timeout, ctx.signal);
          process.stderr.write(`infra: notified ${d.url} of ${push.ref} at ${push.after.slice(0, 12)} (${status})\n`);
        } catch (err) {
          if (!(err instanceof NotifyError)) throw err;
          // What failed for one branch (server down, wrong secret) fails for the rest: the push must not wait for each.
          const rest = refs.length - i - 1;
          process.stderr.write(`infra: ${err.oneLine()}${rest > 0 ? ` (not sent for ${rest} more branch${rest === 1 ? '' : 'es'})` : ''}\n`);
          process.exitCode = err.exitCode;
          return;
        }
      }
    });

  hook
    .command('reconcile')
    .requiredOption('-f, --file <stack>', 'stack file')
    .requiredOption('--state-dir <dir>', 'where runs queue (the repository git dir)')
    .description('what the hook runs without a server: `infra reconcile -f`, one run at a time, a burst of pushes coalesced into one run')
    .action(async (opts: { file: string; stateDir: string }) => {
      const out = createOutput(false);
      const started = new Date().toISOString();
      const result = await runNewest(
        opts.stateDir,
        async () => {
          process.stdout.write(`${started} reconciling ${opts.file}\n`);
          const stack = await loadStackFile(opts.file);
          const statuses = await reconcile({ stack, apps: [], cacheRoot: cacheDir(), retryForMs: 120_000, progress: out.progress, signal: ctx.signal });
          process.stdout.write(`${statusTable(statuses)}\n`);
          if (statuses.some((st) => st.sync === 'Failed' || st.health === 'Degraded' || st.health === 'Progressing')) process.exitCode = 1;
        },
        ctx.signal,
      );
      if (result === 'superseded') process.stdout.write(`${started} skipped: a newer push is queued and reconciles after this one\n`);
    });
}

async function planFor(repo: string, o: InstallOpts): Promise<Omit<HookPlan, 'chained'>> {
  const env: Record<string, string> = {};
  // The hook runs as whoever pushes (or the git daemon's user): pin where infra keeps its state.
  if (process.env['INFRA_HOME']) env['INFRA_HOME'] = resolve(process.env['INFRA_HOME']);
  const base = { node: process.execPath, infra: INFRA_JS, env };
  const repoDir = resolve(repo);
  const stack = o.file ? await loadStackFile(o.file) : undefined;
  if (o.server) {
    const source = o.source ? stack?.gitops.sources.find((s) => s.name === o.source) : stack ? sourceFor(repoDir, stack.gitops.sources, o.file ?? '') : undefined;
    const name = o.source ?? source?.name;
    if (!name) throw new UsageError('--server needs --source (or -f with a stack whose source is this repository)');
    const fromStack = source?.webhook && 'secretFile' in source.webhook ? resolve(dirname(resolve(o.file ?? '.')), source.webhook.secretFile) : undefined;
    const secretFile = o.secretFile ? resolve(o.secretFile) : fromStack;
    if (!secretFile) throw new UsageError('--server needs --secret-file (or -f with a stack whose source has webhook.secretFile)', { hint: 'write a random secret to a 0600 file, e.g. `openssl rand -hex 32 > hook.secret`, and give infra serve the same' });
    if (!/^https?:\/\/[^/]+/.test(o.server)) throw new UsageError(`--server must be an http(s) URL, got "${o.server}"`);
    return { ...base, action: { mode: 'notify', server: o.server, source: name, secretFile, repository: o.repository ?? repoDir } };
  }
  if (!o.file) throw new UsageError('say what a push triggers: --server URL --source NAME --secret-file F (notify infra serve), or -f stack.yaml (reconcile here)');
  if (o.source || o.secretFile) throw new UsageError('--source and --secret-file go with --server');
  const gitDir = await gitDirOf(repoDir);
  return { ...base, action: { mode: 'reconcile', stackFile: resolve(o.file), logFile: resolve(gitDir, 'infra-reconcile.log'), stateDir: gitDir } };
}

function sourceFor(repoDir: string, sources: readonly GitSourceSpec[], file: string): GitSourceSpec | undefined {
  const match = sources.filter((s) => resolve(s.url.replace(/^file:\/\//, '')).replace(/\/+$/, '') === repoDir.replace(/\/+$/, ''));
  if (match.length === 1) return match[0];
  if (sources.length === 1) return sources[0];
  if (match.length === 0 && sources.length > 1) throw new UsageError(`no source of ${file} has this repository as url, and there are several`, { hint: 'pass --source NAME' });
  return undefined;
}

function readStdin(): Promise<string> {
  return new Promise((res, rej) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c: string) => (text += c));
    process.stdin.on('end', () => res(text));
    process.stdin.on('error', rej);
  });
}
