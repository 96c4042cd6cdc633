import type { RemoteHost } from '../../../hosts/index.ts';
import type { StepHost } from '../run-steps.ts';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/**
 * The SSH session as the step executor sees it: checks are quiet, read-only and answer by exit
 * status; changes and uploads run as root (sudo -n for other users) and are counted as mutations.
 */
export function stepHost(remote: RemoteHost): StepHost {
  return {
    name: remote.name,
    async check(step, script, signal) {
      const r = await remote.run({ script }, { sudo: true, quiet: true, okExitCodes: ANY_EXIT, step, ...(signal ? { signal } : {}) });
      return r.code === 0;
    },
    async change(step, script, signal) {
      await remote.run({ script }, { sudo: true, mutating: true, step, ...(signal ? { signal } : {}) });
    },
    async upload(step, content, remotePath, o) {
      // The SSH layer reads a string as a local path: text goes as bytes.
      await remote.upload(typeof content === 'string' ? Buffer.from(content) : content, remotePath, { mode: `0${o.mode.toString(8)}`, owner: 'root:root', sha256: o.sha256, sudo: true, step, ...(o.signal ? { signal: o.signal } : {}) });
    },
  };
}
