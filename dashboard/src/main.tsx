import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getOverview, getSession, subscribe, type Session } from './api.ts';
import { AppPage } from './app-page.tsx';
import { ClusterPage } from './cluster-page.tsx';
import { appIndex, applyEvent, NO_FILTERS, type Filters, type LiveEvent, type Overview } from './model.ts';
import { OverviewPage } from './overview-page.tsx';
import { parseRoute, type Route } from './route.ts';
import './styles.css';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function Dashboard() {
  const route = useRoute();
  const [session, setSession] = useState<Session | undefined>();
  const [overview, setOverview] = useState<Overview | undefined>();
  const [error, setError] = useState('');
  const [live, setLive] = useState(false);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // Live events touching the page in view (the app or cluster page reloads its details on change).
  const [pageChanges, setPageChanges] = useState(0);
  const routeRef = useRef(route);
  routeRef.current = route;

  useEffect(() => {
    const fail = (e: unknown) => setError(e instanceof ApiError && e.status === 401 ? 'Not signed in (401): this dashboard needs credentials.' : String(e instanceof Error ? e.message : e));
    getSession().then(setSession, fail);

    // Events that arrive before (or while) the overview loads wait, then apply in order; several per frame apply at once.
    let pending: LiveEvent[] = [];
    let current: Overview | undefined;
    let index = new Map<string, number>();
    let frame = 0;
    const flush = () => {
      frame = 0;
      if (!current) return;
      let next = current;
      let touchesPage = false;
      const r = routeRef.current;
      let unknown = false;
      for (const e of pending) {
        // An app the overview does not have yet (the stack grew): take a fresh overview instead.
        if (e.type !== 'cluster' && !index.has(e.app)) unknown = true;
        next = applyEvent(next, index, e);
        if ((r.page === 'app' && 'app' in e && e.app === r.app) || (r.page === 'cluster' && 'cluster' in e && e.cluster === r.cluster)) touchesPage = true;
      }
      pending = [];
      current = next;
      setOverview(next);
      if (touchesPage) setPageChanges((n) => n + 1);
      if (unknown && !reloading) {
        reloading = true;
        void load().finally(() => (reloading = false));
      }
    };
    let reloading = false;
    const load = () =>
      getOverview().then((o) => {
        current = o;
        index = appIndex(o.apps);
        flush();
      }, fail);
    let wasDown = false;
    const stop = subscribe(
      (e) => {
        pending.push(e);
        if (!frame) frame = requestAnimationFrame(flush);
      },
      (connected) => {
        setLive(connected);
        // After a drop the stream has no replay: take a fresh overview.
        if (connected && wasDown) void load();
        wasDown = !connected;
      },
    );
    void load();
    return () => {
      stop();
      if (frame) cancelAnimationFrame(frame);
    };
  }, []);

  useEffect(() => {
    if (overview && route.page === 'overview' && !document.body.dataset['ready']) {
      performance.mark('grid-rendered');
      document.body.dataset['ready'] = 'overview';
    }
  }, [overview, route.page]);

  return (
    <>
      <header class="top">
        <a class="home" href="#/">
          infra
        </a>
        <span class={`live ${live ? 'on' : 'off'}`} data-testid="live">
          {live ? 'live' : 'reconnecting…'}
        </span>
        {session ? (
          <span class="who" data-testid="who">
            {session.user} ({session.role})
          </span>
        ) : null}
      </header>
      <main>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : route.page === 'app' ? (
          session ? <AppPage app={route.app} session={session} changes={pageChanges} /> : null
        ) : route.page === 'cluster' ? (
          <ClusterPage cluster={route.cluster} changes={pageChanges} />
        ) : overview ? (
          <OverviewPage overview={overview} filters={filters} onFilters={setFilters} />
        ) : (
          <p class="loading">loading…</p>
        )}
      </main>
    </>
  );
}

render(<Dashboard />, document.getElementById('app')!);
