import { purgeStaleSshds } from './sshd-fixture.ts';

/** Global setup of the `ssh` project: no fixture sshd of a crashed run outlives it. */
export default async function setup(): Promise<() => Promise<void>> {
  const purged = await purgeStaleSshds();
  if (purged.length > 0) process.stderr.write(`[sshd-fixture] removed ${purged.length} sshd(s) of crashed runs\n`);
  return async () => {
    await purgeStaleSshds();
  };
}
