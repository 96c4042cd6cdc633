import { BIN_DIR } from './layout.ts';

/**
 * A systemd service unit for one binary. Arguments are never user text (they come from the
 * topology's names and addresses), one per line so a diff of two versions reads well.
 */
export function systemdUnit(description: string, binary: string, args: readonly string[], after: readonly string[] = [], serviceLines: readonly string[] = []): string {
  const exec = [`${BIN_DIR}/${binary}`, ...args].join(' \\\n  ');
  return [
    '[Unit]',
    `Description=${description} (managed by infra)`,
    ...(after.length > 0 ? [`After=${after.join(' ')}`, `Wants=${after.join(' ')}`] : []),
    '',
    '[Service]',
    ...serviceLines,
    `ExecStart=${exec}`,
    'Restart=always',
    'RestartSec=2',
    'LimitNOFILE=1048576',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
