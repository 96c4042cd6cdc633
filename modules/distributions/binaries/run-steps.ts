import { HostStepError } from './errors.ts';
import type { Step } from './steps.ts';

/**
 * What the executor needs from a host connection (the SSH layer's session, adapted): a
 * read-only check that answers yes/no, a mutating command that throws a typed error naming
 * host, step and command, and an upload verified by checksum.
 */
export interface StepHost {
  readonly name: string;
  check(step: string, script: string, signal?: AbortSignal): Promise<boolean>;
  change(step: string, script: string, signal?: AbortSignal): Promise<void>;
  upload(step: string, content: Buffer, remotePath: string, options: { mode: number; sha256: string; signal?: AbortSignal }): Promise<void>;
}

export interface StepOutcome {
  readonly id: string;
  readonly changed: boolean;
}

export interface HostRun {
  readonly host: string;
  readonly outcomes: readonly StepOutcome[];
  /** Mutating commands and uploads run: 0 on a host already as wanted. */
  readonly mutations: number;
}


/** Runs one host's steps in order, each only when its check says the host differs. */
export async function runSteps(host: StepHost, steps: readonly Step[], options: { signal?: AbortSignal; onStep?: (host: string, step: Step, changed: boolean) => void; readLocal: (path: string) => Promise<Buffer> }): Promise<HostRun> {
  const changed = new Set<string>();
  const outcomes: StepOutcome[] = [];
  let mutations = 0;
  for (const step of steps) {
    options.signal?.throwIfAborted();
    const forced = (step.rerunAfter ?? []).some((id) => changed.has(id));
    const inPlace = !forced && (await host.check(step.id, step.check, options.signal));
    if (!inPlace && step.apply.length === 0) throw new HostStepError(host.name, step.title, 'the condition did not come in time', { hint: 'see the journal of the services on that host (journalctl -u <service>)' });
    if (!inPlace) {
      for (const action of step.apply) {
        if (action.kind === 'run') await host.change(step.id, action.script, options.signal);
        else {
          const content = action.source.kind === 'text' ? Buffer.from(action.source.content) : await options.readLocal(action.source.path);
          await host.upload(step.id, content, action.path, { mode: action.mode, sha256: action.sha256, ...(options.signal ? { signal: options.signal } : {}) });
        }
        mutations++;
      }
      changed.add(step.id);
    }
    outcomes.push({ id: step.id, changed: !inPlace });
    options.onStep?.(host.name, step, !inPlace);
  }
  return { host: host.name, outcomes, mutations };
}
