import type { PlannedChange } from '../sync/result.ts';
import type { AppStatus } from '../types.ts';
import { foldError } from './fold-error.ts';

/** The text of `infra diff` (also the dashboard's diff): per app × cluster, `+` create, `~` update, `-` prune. Pure. */
export function diffText(plans: readonly (PlannedChange | AppStatus)[]): string {
  const lines: string[] = [];
  for (const p of plans) {
    if (!('apply' in p)) {
      lines.push(`${p.app} on ${p.cluster}: cannot plan: ${p.error ? foldError(p.error) : 'no reason recorded'}`);
      continue;
    }
    if (p.apply.length === 0 && p.prune.length === 0) {
      lines.push(`${p.app} on ${p.cluster}: no changes`);
      continue;
    }
    lines.push(`${p.app} on ${p.cluster} (${p.revision.slice(0, 12)}):`);
    for (const a of p.apply) lines.push(`  ${a.change === 'create' ? '+' : '~'} ${a.object}${a.fields.length ? `  ${a.fields.join(' ')}` : ''}`);
    for (const k of p.prune) lines.push(`  - ${k}`);
  }
  return lines.join('\n') || 'no apps';
}
