import { purgeStaleKvmSlots } from './kvm-harness.ts';
import { ensureKvmImage } from './kvm-image.ts';

/**
 * Global setup of the `kvm` vitest project: builds the VMs' image if missing (once per machine)
 * and removes what crashed runs left (daemons, VMs, namespaces, files); at the end of the run,
 * removes what this run's files left.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const progress = (line: string) => process.stderr.write(`[kvm] ${line}\n`);
  await ensureKvmImage({ progress });
  const purged = await purgeStaleKvmSlots();
  if (purged.length > 0) progress(`removed leftovers of crashed runs in slot(s) ${purged.join(', ')}`);
  return async () => {
    await purgeStaleKvmSlots();
  };
}
