/**
 * Keeps a long step from being silent: while `step` runs, a line every `everyMs` says what
 * is still going on and for how long (`still building kube-apiserver (2m10s)…`).
 */

export type Progress = (line: string) => void;

export const HEARTBEAT_MS = 10_000;

export async function withHeartbeat<T>(
  progress: Progress,
  everyMs: number,
  line: (elapsed: string) => string,
  step: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => progress(line(elapsedText(Date.now() - started))), everyMs);
  try {
    return await step();
  } finally {
    clearInterval(timer);
  }
}

/** `45s`, `2m10s`, `1h02m`. */
export function elapsedText(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `12.3 MB` (decimal megabytes, like the release pages). */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
