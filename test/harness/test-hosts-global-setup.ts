import { purgeStaleSlots } from './test-hosts-cleanup.ts';
import { ensureRootfs } from './test-hosts-rootfs.ts';

/**
 * Global setup of the `hosts` vitest project: builds the hosts' root filesystem if missing
 * (once per machine) and removes what crashed runs left; at the end of the run, removes what
 * this run's test files left (a worker that died before its stopTestHosts()).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const progress = (line: string) => process.stderr.write(`[test-hosts] ${line}\n`);
  await ensureRootfs({ progress });
  const purged = await purgeStaleSlots();
  if (purged.length > 0) progress(`removed leftovers of crashed runs in slot(s) ${purged.join(', ')}`);
  return async () => {
    await purgeStaleSlots();
  };
}
