import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { CellView } from './cell-view.tsx';
import { FiltersBar } from './filters-bar.tsx';
import { filterApps, groupColumns, siteChoices, visibleColumns, visibleRows, type AppRow, type ClusterColumn, type Filters, type Overview } from './model.ts';
import { appHref, clusterHref } from './route.ts';

const ROW_HEIGHT = 64;

/** Apps × clusters. Only the rows in view are in the DOM, so 1,000 apps cost what ~20 do. */
export function OverviewPage({ overview, filters, onFilters }: { overview: Overview; filters: Filters; onFilters: (f: Filters) => void }) {
  const columns = useMemo(() => visibleColumns(overview.clusters, filters.site), [overview.clusters, filters.site]);
  const groups = useMemo(() => groupColumns(columns), [columns]);
  const ordered = useMemo(() => groups.flatMap((g) => g.clusters), [groups]);
  const apps = useMemo(() => filterApps(overview.apps, ordered, filters), [overview.apps, ordered, filters]);
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    el.addEventListener('scroll', measure, { passive: true });
    window.addEventListener('resize', measure);
    return () => {
      el.removeEventListener('scroll', measure);
      window.removeEventListener('resize', measure);
    };
  }, []);

  const { start, end } = visibleRows(view.top, view.height, ROW_HEIGHT, apps.length);
  const template = `minmax(12rem, 16rem) repeat(${Math.max(1, ordered.length)}, minmax(11rem, 1fr))`;
  return (
    <section class="overview">
      <FiltersBar filters={filters} sites={siteChoices(overview.clusters)} onChange={onFilters} shown={apps.length} total={overview.apps.length} />
      <div class="grid" ref={scroller} data-testid="grid" data-rows={apps.length}>
        <div class="grid-head" style={{ gridTemplateColumns: template }}>
          <div class="corner">app</div>
          {groups.map((g) => (
            <div class="group" style={{ gridColumn: `span ${g.clusters.length}` }} data-site-kind={g.kind}>
              {g.kind}
            </div>
          ))}
          <div class="corner" />
          {ordered.map((c) => (
            <ClusterHead cluster={c} />
          ))}
        </div>
        <div class="grid-body" style={{ height: `${apps.length * ROW_HEIGHT}px` }}>
          {apps.slice(start, end).map((app, i) => (
            <AppRowView key={app.name} app={app} columns={ordered} template={template} top={(start + i) * ROW_HEIGHT} />
          ))}
        </div>
        {apps.length === 0 ? <p class="empty">{overview.apps.length === 0 ? 'No apps in the stack.' : 'No app matches the filters.'}</p> : null}
      </div>
    </section>
  );
}

function ClusterHead({ cluster }: { cluster: ClusterColumn }) {
  return (
    <a class="cluster-head" href={clusterHref(cluster.name)} data-cluster-column={cluster.name} title={`site ${cluster.site}`}>
      <strong>{cluster.name}</strong>
      <span class="site">{cluster.site}</span>
      {typeof cluster.health === 'string' ? <span class={`health health-${cluster.health}`}>{cluster.health}</span> : null}
    </a>
  );
}

function AppRowView({ app, columns, template, top }: { app: AppRow; columns: readonly ClusterColumn[]; template: string; top: number }) {
  return (
    <div class="row" data-app={app.name} style={{ gridTemplateColumns: template, transform: `translateY(${top}px)` }}>
      <a class="app-name" href={appHref(app.name)}>
        {app.name}
        {app.suspended ? <span class="badge">suspended</span> : null}
      </a>
      {columns.map((c) => (
        <CellView cell={app.cells[c.name]} cluster={c.name} />
      ))}
    </div>
  );
}
