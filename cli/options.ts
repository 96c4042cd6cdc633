import { InvalidArgumentError } from 'commander';
import { DURATION_EXAMPLES, parseDuration } from '../stacks/duration.ts';

/**
 * Parsers for option values. Commander names the option in its error ("option '--retry-for
 * <duration>' argument '2x' is invalid"), and the CLI turns that into exit 2.
 */

/** A duration flag (`90s`, `2m`, `1h`, bare seconds), in milliseconds. */
export function durationMs(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`expected ${DURATION_EXAMPLES}.`);
  return ms;
}

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const problem = wholeNumberProblem(value, min, max);
    if (problem) throw new InvalidArgumentError(`${problem}.`);
    return Number(value.trim());
  };
}

/** Why `value` is not a whole number from `min` to `max` (for flags and the wizard's prompts), or undefined. */
export function wholeNumberProblem(value: string, min: number, max: number): string | undefined {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) return `expected a whole number from ${min} to ${max}, got "${value}"`;
  return undefined;
}
