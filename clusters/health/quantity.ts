import { QuantityFormatError } from './health-errors.ts';

/**
 * Kubernetes resource quantities ("250m", "1.5", "128Mi", "1G", "2e3") as plain numbers:
 * CPU in millicores, memory in bytes. Malformed input is rejected, not guessed.
 */

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

const PATTERN = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;


/** The quantity's value in base units (cores, bytes, count). */
export function parseQuantity(text: string): number {
  const m = PATTERN.exec(text.trim());
  if (!m) throw new QuantityFormatError(`not a Kubernetes quantity: ${JSON.stringify(text)}`, { hint: 'write it like 250m, 1.5, 128Mi or 1G' });
  const value = Number(m[1]);
  if (m[2]) return value * 10 ** Number(m[2].slice(1));
  return value * (SUFFIX[m[3] ?? ''] ?? 1);
}

/** CPU in whole millicores, rounded up as the scheduler does. */
export function cpuMilli(text: string | undefined): number {
  return text === undefined ? 0 : Math.ceil(Math.round(parseQuantity(text) * 1e9) / 1e6);
}

/** Memory (or any byte quantity) in whole bytes, rounded up. */
export function bytes(text: string | undefined): number {
  return text === undefined ? 0 : Math.ceil(parseQuantity(text));
}
