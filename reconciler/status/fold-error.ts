import type { StatusError } from '../types.ts';

/**
 * One table cell for an error: folded to one line, the part that says what is wrong first
 * (a field path and its complaint, such as `.spec.replicass: field not declared in schema`),
 * then where, then the long prefix the API put before it. Pure.
 */

/** A field path followed by its complaint: `.spec.x: ...`, `spec.template.spec.containers[0].image: ...`. */
const FIELD_COMPLAINT = /(?:^|[\s(,;])(\.?[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])+: .+)$/;

export function foldError(error: StatusError, maxLength = 400): string {
  const text = error.message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
    .replace(/\s+/g, ' ');
  const m = FIELD_COMPLAINT.exec(text);
  const key = m?.[1];
  const rest = key ? text.slice(0, text.length - key.length).replace(/[\s:(,;]+$/, '') : '';
  const where = error.where ? ` (${error.where})` : '';
  const line = key ? `${error.reason}: ${key}${where}${rest ? ` — ${rest}` : ''}` : `${error.reason}:${where ? ` ${error.where}:` : ''} ${text}`;
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
}
