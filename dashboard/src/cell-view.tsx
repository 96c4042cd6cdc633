import { cellTone, errorWhere, shortRevision, type Cell } from './model.ts';

/** One app × cluster cell: colour AND words (sync · health), the revision, and where the last error is. */
export function CellView({ cell, cluster }: { cell: Cell | undefined; cluster: string }) {
  if (!cell) {
    return <div class="cell tone-none" data-cluster={cluster} data-sync="" data-health="" title="not targeted at this cluster">—</div>;
  }
  const tone = cellTone(cell);
  const where = cell.lastError ? errorWhere(cell.lastError) : '';
  const title = cell.lastError ? `${cell.lastError.message}${where ? `\n${where}` : ''}` : `${cell.sync} · ${cell.health}${cell.revision ? ` @ ${cell.revision}` : ''}`;
  return (
    <div class={`cell tone-${tone}`} data-cluster={cluster} data-sync={cell.sync} data-health={cell.health} data-tone={tone} title={title}>
      <span class="state">
        <span class="dot" aria-hidden="true" />
        {cell.sync} · {cell.health}
      </span>
      <span class="rev">{shortRevision(cell.revision)}</span>
      {cell.lastError ? (
        <span class="err" data-error>
          {where ? `${where}: ` : ''}
          {cell.lastError.message}
        </span>
      ) : null}
    </div>
  );
}
