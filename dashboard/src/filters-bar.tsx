import { STATE_FILTERS, type Filters, type StateFilter } from './model.ts';

export function FiltersBar({ filters, sites, onChange, shown, total }: { filters: Filters; sites: readonly string[]; onChange: (f: Filters) => void; shown: number; total: number }) {
  return (
    <form class="filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        labels
        <input name="label" placeholder="team=web env" value={filters.label} onInput={(e) => onChange({ ...filters, label: (e.currentTarget as HTMLInputElement).value })} />
      </label>
      <label>
        site
        <select name="site" value={filters.site} onChange={(e) => onChange({ ...filters, site: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="">all sites</option>
          {sites.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        state
        <select name="state" value={filters.state} onChange={(e) => onChange({ ...filters, state: (e.currentTarget as HTMLSelectElement).value as StateFilter })}>
          {STATE_FILTERS.map((s) => (
            <option value={s}>{s === 'all' ? 'any state' : s === 'problems' ? 'not synced & healthy' : s}</option>
          ))}
        </select>
      </label>
      <span class="count" data-testid="app-count">
        {shown === total ? `${total} apps` : `${shown} of ${total} apps`}
      </span>
    </form>
  );
}
