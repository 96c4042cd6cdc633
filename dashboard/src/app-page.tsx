import { useCallback, useEffect, useState } from 'preact/hooks';
import { getApp, getDiff, postAction, type AppAction, type AppDetail, type AppDiff, type Placement, type Session } from './api.ts';
import { CellView } from './cell-view.tsx';
import { clusterHref } from './route.ts';

/** One app: objects per cluster with health, the diff on demand, the last reconciles, placement and moves. */
export function AppPage({ app, session, changes }: { app: string; session: Session; changes: number }) {
  const [detail, setDetail] = useState<AppDetail | undefined>();
  const [error, setError] = useState('');
  const [diff, setDiff] = useState<AppDiff | 'loading' | undefined>();
  const [notice, setNotice] = useState('');

  const load = useCallback(() => {
    getApp(app).then(
      (d) => {
        setDetail(d);
        setError('');
      },
      (e: unknown) => setError(String(e instanceof Error ? e.message : e)),
    );
  }, [app]);
  // `changes` counts live events about this app: reload the details when it moves.
  useEffect(load, [load, changes]);

  const act = async (action: AppAction) => {
    const r = await postAction(app, action, session.csrf);
    setNotice(r.status >= 200 && r.status < 300 ? `${action}: ${r.status === 202 ? 'queued' : 'done'}` : `${action} refused (${r.status}): ${r.text.slice(0, 200)}`);
    if (action !== 'sync') load();
  };
  const showDiff = () => {
    setDiff('loading');
    getDiff(app).then(setDiff, (e: unknown) => setDiff({ clusters: [{ cluster: '', diff: '', error: String(e instanceof Error ? e.message : e) }] }));
  };

  if (error) return <p class="error" role="alert">{error}</p>;
  if (!detail) return <p class="loading">loading {app}…</p>;
  const canWrite = session.role === 'write';
  return (
    <section class="app-page" data-testid="app-page">
      <h1>
        {detail.name} {detail.suspended ? <span class="badge">suspended</span> : null}
      </h1>
      <p class="meta">
        source <code>{detail.source}</code> path <code>{detail.path}</code>
      </p>
      {canWrite ? (
        <div class="actions">
          <button type="button" data-action="sync" onClick={() => void act('sync')}>
            Sync now
          </button>
          {detail.suspended ? (
            <button type="button" data-action="resume" onClick={() => void act('resume')}>
              Resume
            </button>
          ) : (
            <button type="button" data-action="suspend" onClick={() => void act('suspend')}>
              Suspend
            </button>
          )}
        </div>
      ) : (
        <p class="meta">read-only ({session.user})</p>
      )}
      {notice ? (
        <p class="notice" role="status" data-testid="notice">
          {notice}
        </p>
      ) : null}

      <h2>Clusters</h2>
      {detail.clusters.map((c) => (
        <div class="app-cluster" data-cluster-section={c.cluster}>
          <h3>
            <a href={clusterHref(c.cluster)}>{c.cluster}</a>
          </h3>
          <CellView cell={c.cell} cluster={c.cluster} />
          {c.error ? <p class="error">could not read the cluster: {c.error}</p> : null}
          <table>
            <thead>
              <tr>
                <th>kind</th>
                <th>namespace</th>
                <th>name</th>
                <th>health</th>
                <th>message</th>
              </tr>
            </thead>
            <tbody>
              {c.objects.map((o) => (
                <tr data-health={o.health}>
                  <td>{o.kind}</td>
                  <td>{o.namespace ?? ''}</td>
                  <td>{o.name}</td>
                  <td class={`health health-${o.health}`}>{o.health}</td>
                  <td>{o.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}

      <h2>Diff</h2>
      {diff === undefined ? (
        <button type="button" data-action="diff" onClick={showDiff}>
          Show what a reconcile would change
        </button>
      ) : diff === 'loading' ? (
        <p class="loading">running a server-side dry-run…</p>
      ) : (
        diff.clusters.map((d) => (
          <div class="diff" data-diff-cluster={d.cluster}>
            <h3>{d.cluster}</h3>
            {d.error ? <p class="error">{d.error}</p> : <pre>{d.diff === '' ? 'no changes' : d.diff}</pre>}
          </div>
        ))
      )}

      <h2>Last reconciles</h2>
      <table class="history">
        <thead>
          <tr>
            <th>started</th>
            <th>revision</th>
            <th>duration</th>
            <th>result</th>
            <th>message</th>
          </tr>
        </thead>
        <tbody>
          {detail.history.map((h) => (
            <tr data-result={h.result}>
              <td>{h.startedAt}</td>
              <td>
                <code>{h.revision.slice(0, 8)}</code>
              </td>
              <td>{(h.durationMs / 1000).toFixed(1)} s</td>
              <td class={`result result-${h.result}`}>{h.result}</td>
              <td>{h.message ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>

      {detail.placement !== undefined ? <PlacementView placement={detail.placement} /> : null}
      {detail.moves && detail.moves.length > 0 ? (
        <>
          <h2>Moves</h2>
          <table class="moves" data-testid="moves">
            <thead>
              <tr>
                <th>time</th>
                <th>from</th>
                <th>to</th>
                <th>reason</th>
                <th>detail</th>
              </tr>
            </thead>
            <tbody>
              {detail.moves.map((m) => (
                <tr data-reason={m.reason}>
                  <td>{m.at}</td>
                  <td>{m.from}</td>
                  <td>{m.to}</td>
                  <td>{m.reason}</td>
                  <td>{m.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}

/** Where failover decided the app runs, why (one row per candidate cluster), and the moves still waiting. */
function PlacementView({ placement: p }: { placement: Placement }) {
  return (
    <>
      <h2>Placement</h2>
      <p class="placement" data-testid="placement">
        on <strong>{p.clusters.join(', ') || 'no cluster'}</strong> (home {p.home.join(', ') || '-'}) — {p.why}
      </p>
      {p.blocked ? <p class="result-Failed">blocked: {p.blocked}</p> : null}
      {p.explain && p.explain.length > 0 ? (
        <table class="explain">
          <tbody>
            {p.explain.map((e) => (
              <tr data-cluster={e.cluster} data-chosen={String(e.chosen)}>
                <td>{e.cluster}</td>
                <td>{e.chosen ? 'chosen' : 'not chosen'}</td>
                <td>{e.rule}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {p.pending.length > 0 ? (
        <ul class="pending">
          {p.pending.map((m) => (
            <li>
              {m.reason} {m.from}
              {m.to ? ` → ${m.to}` : ''}
              {m.secondsLeft !== undefined ? ` in ${m.secondsLeft} s` : ''}
              {m.waitingFor ? ` (waiting for ${m.waitingFor})` : ''}
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
