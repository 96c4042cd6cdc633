import { fileURLToPath } from 'node:url';
import { runCommand, tail } from '../../clusters/host/command.ts';
import { TestHostsError } from './test-hosts-errors.ts';

const BUILD_SCRIPT = fileURLToPath(new URL('../hosts/build-rootfs.sh', import.meta.url));

/**
 * The Debian root filesystem of the test hosts: built once by test/hosts/build-rootfs.sh
 * (debootstrap, about a minute) into ~/.cache/infra/rootfs/<suite>-<script hash>, reused after.
 */
export async function ensureRootfs(options: { progress?: (line: string) => void; signal?: AbortSignal } = {}): Promise<string> {
  const r = await runCommand(BUILD_SCRIPT, [], {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { onStderrLine: options.progress } : {}),
  });
  const path = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || path === '') {
    throw new TestHostsError(`building the test hosts' root filesystem failed (exit ${r.code}): ${tail(r.stderr, 5)}`, {
      where: BUILD_SCRIPT,
      hint: 'needs root, debootstrap and the Debian mirror (INFRA_DEBIAN_MIRROR overrides deb.debian.org)',
    });
  }
  return path;
}
