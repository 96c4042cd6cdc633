import { useEffect, useState } from 'preact/hooks';
import { getCluster, type ClusterDetail } from './api.ts';
import { appHref } from './route.ts';

/** One cluster: health (and since when, when the server knows), probes, the apps placed there, capacity. */
export function ClusterPage({ cluster, changes }: { cluster: string; changes: number }) {
  const [detail, setDetail] = useState<ClusterDetail | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    getCluster(cluster).then(setDetail, (e: unknown) => setError(String(e instanceof Error ? e.message : e)));
  }, [cluster, changes]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!detail) return <p class="loading">loading {cluster}…</p>;
  const labels = Object.entries(detail.labels);
  return (
    <section class="cluster-page" data-testid="cluster-page">
      <h1>{detail.name}</h1>
      <p class="meta">
        site <strong>{detail.site}</strong>
        {detail.siteKind ? ` (${detail.siteKind})` : ''}
        {labels.length ? ` · ${labels.map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}
      </p>
      <h2>Health</h2>
      {detail.health === undefined ? <p class="meta">not reported by this server</p> : <Facts value={detail.health} />}
      {detail.probes !== undefined ? (
        <>
          <h2>Probes</h2>
          <Facts value={detail.probes} />
        </>
      ) : null}
      <h2>Apps ({detail.apps.length})</h2>
      <ul class="apps">
        {detail.apps.map((a) => (
          <li>
            <a href={appHref(a)}>{a}</a>
          </li>
        ))}
      </ul>
      {detail.capacity !== undefined ? (
        <>
          <h2>Capacity</h2>
          <Facts value={detail.capacity} />
        </>
      ) : null}
    </section>
  );
}

/** A value the server fills as its issues land (health, probes, capacity): strings as text, the rest as key/value rows. */
function Facts({ value }: { value: unknown }) {
  if (value === null || typeof value !== 'object') return <p class="fact">{String(value)}</p>;
  return (
    <table class="facts">
      <tbody>
        {Object.entries(value as Record<string, unknown>).map(([k, v]) => (
          <tr>
            <th>{k}</th>
            <td>{typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
