import { InfraError } from '../../stacks/errors.ts';

/**
 * Typed errors across the engine boundary. A dynamic provider runs in Pulumi's provider process
 * and its errors reach us only as text inside the engine's failure, so a provider adds one
 * marker line to the message (`infra-error: {json}`) and the engine layer turns it back into an
 * error with the same reason, exit code, place and hint. Pure: no Pulumi here.
 */

export const MARKER = 'infra-error: ';

interface Carried {
  readonly reason: string;
  readonly code: number;
  readonly message: string;
  readonly where?: string;
  readonly hint?: string;
}

/** An error a provider raised, as the CLI sees it: its own exit code and one line. */
export class ProviderError extends InfraError {
  readonly reason: string;
  override readonly exitCode: number;
  constructor(carried: Carried, cause?: unknown) {
    super(carried.message, { ...(carried.where ? { where: carried.where } : {}), ...(carried.hint ? { hint: carried.hint } : {}), ...(cause ? { cause } : {}) });
    this.reason = carried.reason;
    this.exitCode = carried.code;
  }
}

function isInfraLike(err: unknown): err is Error & { reason: string; exitCode: number; where?: string; hint?: string; oneLine(): string } {
  if (!(err instanceof Error)) return false;
  const e = err as unknown as Record<string, unknown>;
  return typeof e['reason'] === 'string' && typeof e['exitCode'] === 'number' && typeof e['oneLine'] === 'function';
}

/** What a provider throws instead of `err`: the readable line first, the marker on the next. */
export function carryAcrossEngine(err: unknown): unknown {
  if (!isInfraLike(err)) return err;
  const carried: Carried = { reason: err.reason, code: err.exitCode, message: err.message, ...(err.where ? { where: err.where } : {}), ...(err.hint ? { hint: err.hint } : {}) };
  const out = new Error(`${err.oneLine()}\n${MARKER}${JSON.stringify(carried)}`, { cause: err });
  out.name = err.name;
  return out;
}

/** The first carried error in the engine's output (exit codes 1–69 only: never 0, a bug's 70 or an interrupt's 130). */
export function carriedError(text: string, cause?: unknown): ProviderError | undefined {
  for (let at = text.indexOf(MARKER); at >= 0; at = text.indexOf(MARKER, at + 1)) {
    const line = text.slice(at + MARKER.length).split('\n')[0] ?? '';
    try {
      const c = JSON.parse(line) as Partial<Carried>;
      if (typeof c.reason === 'string' && typeof c.message === 'string' && Number.isInteger(c.code) && (c.code as number) >= 1 && (c.code as number) < 70) {
        return new ProviderError({ reason: c.reason, code: c.code as number, message: c.message, ...(typeof c.where === 'string' ? { where: c.where } : {}), ...(typeof c.hint === 'string' ? { hint: c.hint } : {}) }, cause);
      }
    } catch {
      // Not ours (or cut): look for the next one.
    }
  }
  return undefined;
}
