import type { ClusterHealth } from './types.ts';

/**
 * What `infra clusters` prints: every stack cluster (sorted by name) with its stored health and
 * since when, as ISO timestamps (deterministic: no "3m ago" that changes between two runs).
 */

export interface ClusterHealthRow {
  readonly cluster: string;
  /** 'NoRecord' when serve has never probed it. */
  readonly state: string;
  readonly since?: string;
  readonly unhealthySince?: string;
  readonly readySince?: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function healthRows(clusters: readonly { name: string; labels: Readonly<Record<string, string>> }[], stored: ReadonlyMap<string, ClusterHealth>): ClusterHealthRow[] {
  return [...clusters]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => {
      const h = stored.get(c.name);
      const labels = Object.fromEntries(Object.entries(c.labels).sort(([a], [b]) => a.localeCompare(b)));
      if (!h) return { cluster: c.name, state: 'NoRecord', labels };
      return {
        cluster: c.name,
        state: h.state,
        since: iso(h.since),
        ...(h.unhealthySince !== undefined ? { unhealthySince: iso(h.unhealthySince) } : {}),
        ...(h.readySince !== undefined ? { readySince: iso(h.readySince) } : {}),
        labels,
      };
    });
}

export const HEALTH_TABLE_HEADER = ['CLUSTER', 'HEALTH', 'SINCE', 'UNHEALTHY SINCE', 'LABELS'] as const;

export function healthTableCells(r: ClusterHealthRow): string[] {
  return [r.cluster, r.state, r.since ?? '-', r.unhealthySince ?? '-', Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-'];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
