import { describe, expect, it } from 'vitest';
import { carriedError, carryAcrossEngine, ProviderError } from '../../modules/engine/provider-error.ts';
import { HostStepError, QuorumRefusedError } from '../../modules/distributions/binaries/errors.ts';
import { SudoRequiredError } from '../../modules/hosts/errors.ts';
import { UsageError } from '../../stacks/errors.ts';

/** What the Pulumi CLI prints when a dynamic provider throws (the shape the engine's CommandError holds). */
const engineText = (err: unknown) => `Updating (lab):\n    pulumi:pulumi:Stack infra-lab running\n    infra:ControlPlaneMember control-plane:lab:cp3  error: ${(err as Error).message.split('\n').join('\n    ')}\n    pulumi:pulumi:Stack infra-lab  **failed** 1 error\nResources:\n    5 unchanged\n`;

describe('typed errors across the engine boundary', () => {
  it('keep their exit code, place and hint through the marker line', () => {
    const original = new HostStepError('cp3', 'start etcd', 'exit 1', { hint: 'see journalctl -u etcd' });
    const back = carriedError(engineText(carryAcrossEngine(original)));
    expect(back).toBeInstanceOf(ProviderError);
    expect(back?.exitCode).toBe(25);
    expect(back?.reason).toBe('HostStepFailed');
    expect(back?.oneLine()).toBe(original.oneLine());
  });

  it('show the readable line first (what the progress view prints) and leave other errors alone', () => {
    const q = new QuorumRefusedError('refusing to remove cp2: "quoted"\nsecond line', { where: 'host cp2' });
    const carried = carryAcrossEngine(q) as Error;
    expect(carried.message.split('\n')[0]).toBe(q.oneLine().split('\n')[0]);
    expect(carriedError(engineText(carried))?.message).toBe(q.message);
    const plain = new Error('boom');
    expect(carryAcrossEngine(plain)).toBe(plain);
    expect(carriedError('error: something else\ninfra-error: {not json')).toBeUndefined();
    expect(carriedError(`infra-error: ${JSON.stringify({ reason: 'X', code: 130, message: 'm' })}`)).toBeUndefined();
  });

  it('carry a subclass’s code (sudo: 22) and take the first of several', () => {
    const sudo = new SudoRequiredError({ host: 'lab-2', user: 'bob', step: 'start kubelet', command: 'systemctl restart kubelet', stderrTail: [] });
    const text = engineText(carryAcrossEngine(sudo)) + engineText(carryAcrossEngine(new UsageError('later')));
    expect(carriedError(text)?.exitCode).toBe(22);
  });
});
