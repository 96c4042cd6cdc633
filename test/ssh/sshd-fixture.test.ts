import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { processesMentioning } from '../../clusters/host/process-table.ts';
import { purgeStaleSshds, startSshd } from '../harness/sshd-fixture.ts';

it("a run that dies without stopping its sshd leaves nothing after the next purge; live runs' sshds stay", async () => {
  const live = await startSshd();
  try {
    const script = fileURLToPath(new URL('../harness/sshd-crashing-run.ts', import.meta.url));
    const r = await runCommand(process.execPath, [script]);
    expect(r.code).toBe(0);
    const dir = r.stdout.trim();
    expect(processesMentioning(dir, new Set(['sshd']))).toHaveLength(1);
    const purged = await purgeStaleSshds();
    expect(purged).toContain(dir);
    expect(purged).not.toContain(live.dir);
    expect(processesMentioning(dir, new Set(['sshd']))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(processesMentioning(live.dir, new Set(['sshd']))).toHaveLength(1);
  } finally {
    await live.stop();
  }
});
