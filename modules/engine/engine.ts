import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, ConcurrentUpdateError, LocalWorkspace, PulumiCommand, type EngineEvent, type Stack } from '@pulumi/pulumi/automation/index.js';
import { LockHeldError } from '../../clusters/errors.ts';
import { acquireLock, type FileLock } from '../../clusters/host/file-lock.ts';
import { infraHome } from '../../clusters/host/paths.ts';
import type { StackSpec } from '../../stacks/load.ts';
import { InfraError } from '../../stacks/errors.ts';
import { carriedError } from './provider-error.ts';
import { stackProgram } from '../program.ts';
import { engineEnv } from './engine-env.ts';
import { KEPT_CLUSTERS_ENV, keptClustersValue } from './kept-clusters.ts';
import { planOrder, type ResourceChange } from './plan-order.ts';
import { removeStaleLocks } from './stale-locks.ts';

/**
 * The Pulumi engine through the Automation API, with an inline program built from the stack.
 * One infra process changes a stack at a time (a lock taken before the engine starts, so a
 * second `infra up` fails at once); engine failures become typed errors.
 */

export class EngineError extends InfraError {
  readonly reason = 'EngineFailed';
  override readonly exitCode = 12;
}

export type Operation = 'preview' | 'up' | 'refresh' | 'destroy';

export type { ResourceChange } from './plan-order.ts';

export interface OperationResult {
  readonly operation: Operation;
  readonly stack: string;
  readonly changes: Readonly<Record<string, number>>;
  readonly steps: readonly ResourceChange[];
  readonly outputs?: Record<string, unknown>;
}

export interface EngineOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly progress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export class StackEngine {
  readonly spec: StackSpec;
  private readonly stack: Stack;
  private readonly lock: FileLock | undefined;
  private readonly options: EngineOptions;

  private constructor(spec: StackSpec, stack: Stack, lock: FileLock | undefined, options: EngineOptions) {
    this.spec = spec;
    this.stack = stack;
    this.lock = lock;
    this.options = options;
  }

  static async open(spec: StackSpec, options: EngineOptions & { lock: boolean }): Promise<StackEngine> {
    const env = options.env ?? process.env;
    let lock: FileLock | undefined;
    await mkdir(join(infraHome(env), 'locks'), { recursive: true });
    if (options.lock) {
      try {
        lock = await acquireLock(join(infraHome(env), 'locks', `${spec.name}.lock`), { what: `stack "${spec.name}"`, wait: false });
      } catch (err) {
        if (err instanceof LockHeldError) {
          throw new LockHeldError(`stack "${spec.name}" is being changed by another infra process`, { ...(err.where ? { where: err.where } : {}), ...(err.hint ? { hint: err.hint } : {}) });
        }
        throw err;
      }
    }
    try {
      const e = await engineEnv(spec.name, { env, ...(options.progress ? { progress: options.progress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      if (lock) {
        const stale = await removeStaleLocks(e.backendUrl, 'infra', spec.name);
        if (stale > 0) options.progress?.(`removed ${stale} stale engine lock(s) left by an interrupted run`);
      }
      const pulumiCommand = await PulumiCommand.get({ root: e.root, version: undefined, skipVersionCheck: true });
      const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: spec.name, projectName: 'infra', program: stackProgram(spec) },
        { workDir: e.workDir, pulumiCommand, envVars: e.envVars, projectSettings: { name: 'infra', runtime: 'nodejs', backend: { url: e.backendUrl } } },
      );
      return new StackEngine(spec, stack, lock, options);
    } catch (err) {
      await lock?.release();
      throw asEngineError(err, spec.name);
    }
  }

  async close(): Promise<void> {
    await this.lock?.release();
  }

  async preview(): Promise<OperationResult> {
    const steps: ResourceChange[] = [];
    const providers = new Map<string, number>();
    // Providers that know what a change does on a host note it here (one JSON file per resource).
    const notes = await mkdtemp(join(infraHome(this.options.env ?? process.env), 'preview-'));
    const env = this.stack.workspace.envVars;
    env['INFRA_PREVIEW_DIR'] = notes;
    try {
      const r = await this.run(() => this.stack.preview({ refresh: true, onEvent: this.events(steps, true, providers), ...this.signal() }));
      const details = await readPreviewNotes(notes);
      const withDetail = steps.map((s) => (details.has(s.name) ? { ...s, detail: details.get(s.name) as string[] } : s));
      return { operation: 'preview', stack: this.spec.name, changes: ours(r.changeSummary, providers), steps: planOrder(withDetail) };
    } finally {
      delete env['INFRA_PREVIEW_DIR'];
      await rm(notes, { recursive: true, force: true });
    }
  }

  async up(): Promise<OperationResult> {
    return this.keeping(this.spec.clusters.map((c) => c.name), () => this.change('up', (onEvent) => this.stack.up({ refresh: true, onEvent, ...this.signal() })));
  }

  async refresh(): Promise<OperationResult> {
    return this.change('refresh', (onEvent) => this.stack.refresh({ onEvent, ...this.signal() }));
  }

  async destroy(): Promise<OperationResult> {
    return this.keeping([], () => this.change('destroy', (onEvent) => this.stack.destroy({ onEvent, ...this.signal() })));
  }

  /** Runs `op` with the providers told which clusters stay (kept-clusters.ts): the members of the others retire with them. */
  private async keeping<T>(clusters: readonly string[], op: () => Promise<T>): Promise<T> {
    const env = this.stack.workspace.envVars;
    env[KEPT_CLUSTERS_ENV] = keptClustersValue(clusters);
    try {
      return await op();
    } finally {
      delete env[KEPT_CLUSTERS_ENV];
    }
  }

  /** Runs an operation that changes state: finish what an interrupted run left, report progress, count our changes. */
  private async change(
    operation: Exclude<Operation, 'preview'>,
    op: (onEvent: (e: EngineEvent) => void) => Promise<{ summary: { resourceChanges?: Record<string, number> }; outputs?: Record<string, { value: unknown }> }>,
  ): Promise<OperationResult> {
    await this.clearInterrupted();
    const steps: ResourceChange[] = [];
    const providers = new Map<string, number>();
    const r = await this.run(() => op(this.events(steps, false, providers)));
    const outputs = r.outputs ? { outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value])) } : {};
    return { operation, stack: this.spec.name, changes: ours(r.summary.resourceChanges, providers), steps: planOrder(steps), ...outputs };
  }

  /** Resources in the stack's state, for `infra stack ls` and tests. */
  async resources(): Promise<{ type: string; name: string; outputs: Record<string, unknown> }[]> {
    const state = await this.stack.exportStack();
    const resources = (state.deployment as { resources?: { type: string; urn: string; outputs?: Record<string, unknown> }[] }).resources ?? [];
    return resources.filter((r) => r.type.startsWith('pulumi-nodejs:dynamic')).map((r) => ({ type: r.type, name: r.urn.split('::').pop() ?? r.urn, outputs: r.outputs ?? {} }));
  }

  /** An operation cut short (Ctrl-C, crash) leaves pending creates; our creates are idempotent, so clear and redo them. */
  private async clearInterrupted(): Promise<void> {
    const state = await this.stack.exportStack();
    const pending = (state.deployment as { pending_operations?: unknown[] }).pending_operations ?? [];
    if (pending.length === 0) return;
    this.options.progress?.(`finishing ${pending.length} operation(s) an earlier run left pending`);
    await this.run(() => this.stack.refresh({ clearPendingCreates: true, ...this.signal() }));
  }

  private signal(): { signal?: AbortSignal } {
    return this.options.signal ? { signal: this.options.signal } : {};
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw asEngineError(err, this.spec.name);
    }
  }

  private events(steps: ResourceChange[], planning: boolean, bookkeeping?: Map<string, number>): (e: EngineEvent) => void {
    const started = new Map<string, number>();
    return (e) => {
      const pre = e.resourcePreEvent?.metadata;
      if (pre && pre.type.startsWith('pulumi:providers:')) bookkeeping?.set(pre.op, (bookkeeping.get(pre.op) ?? 0) + 1);
      if (pre && interesting(pre.op, pre.type)) {
        const name = pre.urn.split('::').pop() ?? pre.urn;
        started.set(pre.urn, Date.now());
        if (planning) steps.push({ op: pre.op, type: pre.type, name });
        else this.options.progress?.(`${pre.op.padEnd(8)} ${name} …`);
      }
      const done = e.resOutputsEvent?.metadata;
      if (done && !planning && interesting(done.op, done.type)) {
        const name = done.urn.split('::').pop() ?? done.urn;
        steps.push({ op: done.op, type: done.type, name });
        const t = started.get(done.urn);
        this.options.progress?.(`${done.op.padEnd(8)} ${name} done${t ? ` (${((Date.now() - t) / 1000).toFixed(1)}s)` : ''}`);
      }
      const diag = e.diagnosticEvent;
      if (diag && (diag.severity === 'error' || diag.severity === 'warning') && !diag.message.includes('update failed') && !diag.message.includes('pulumi-resource-pulumi-nodejs')) {
        this.options.progress?.(`${diag.severity}: ${diag.message.trim().split('\n')[0]}`);
      }
    };
  }
}

async function readPreviewNotes(dir: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const f of (await readdir(dir)).sort()) {
    const note = JSON.parse(await readFile(join(dir, f), 'utf8')) as { name: string; steps: string[] };
    out.set(note.name, note.steps);
  }
  return out;
}

/** The engine's change counts without its provider bookkeeping: what the user declared. */
function ours(summary: Record<string, number> | undefined, providers: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(summary ?? {})) {
    const left = n - (providers.get(op) ?? 0);
    if (left > 0) out[op] = left;
  }
  return out;
}

/** Steps worth showing: real changes to our resources, not reads, refreshes or the stack and provider bookkeeping. */
function interesting(op: string, type: string): boolean {
  return !['same', 'read', 'refresh'].includes(op) && !type.startsWith('pulumi:pulumi:Stack') && !type.startsWith('pulumi:providers:');
}

function asEngineError(err: unknown, stack: string): unknown {
  if (err instanceof InfraError) return err;
  if (err instanceof ConcurrentUpdateError) {
    return new LockHeldError(`stack "${stack}" is being updated by another process`, { hint: 'wait for it to finish' });
  }
  if (err instanceof CommandError) {
    const text = err.message;
    // A typed error a provider raised (host unreachable, host key, sudo, a failed step) keeps its exit code.
    const carried = carriedError(text, err);
    if (carried) return carried;
    const line = text.split('\n').map((l) => l.trim()).find((l) => /error:|failed|not implemented/i.test(l) && !/^code:/.test(l)) ?? text.split('\n')[0] ?? text;
    return new EngineError(line.replace(/^.*?error: /, ''), { where: `stack ${stack}`, hint: 'run `infra refresh` to see the state; `infra up` again repairs what it can', cause: err });
  }
  return err;
}
