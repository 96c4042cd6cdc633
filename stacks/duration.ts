/**
 * The one duration syntax of infra, for command-line flags and stack fields alike:
 * `90s`, `2m`, `1h`, `500ms`, combinations such as `1h30m`, or bare seconds (`120`).
 * Pure; returns milliseconds, or undefined for anything else (the caller names the flag or
 * field in its error).
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const PART = /(\d+)(ms|s|m|h)/y;

/** Words for errors: what a duration looks like. */
export const DURATION_EXAMPLES = 'a duration like 90s, 2m, 1h or a number of seconds';

/** JSON Schema pattern of a duration written as a string. */
export const DURATION_PATTERN = '^(\\d+|(\\d+(ms|s|m|h))+)$';

export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value * 1_000 : undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return safe(Number(text) * 1_000);
  if (text === '') return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  return safe(total);
}

function safe(ms: number): number | undefined {
  return Number.isSafeInteger(ms) ? ms : undefined;
}
