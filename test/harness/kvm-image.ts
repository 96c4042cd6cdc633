import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, tail } from '../../clusters/host/command.ts';
import { TestHostsError } from './test-hosts-errors.ts';

const BUILD_SCRIPT = fileURLToPath(new URL('../kvm/build-image.sh', import.meta.url));

export interface KvmImage {
  readonly dir: string;
  readonly disk: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
}

/** The KVM tests' Debian image: built once by test/kvm/build-image.sh (about 4.5 min) into ~/.cache/infra/images. */
export async function ensureKvmImage(options: { progress?: (line: string) => void; signal?: AbortSignal } = {}): Promise<KvmImage> {
  const r = await runCommand(BUILD_SCRIPT, [], { ...(options.signal ? { signal: options.signal } : {}), ...(options.progress ? { onStderrLine: options.progress } : {}) });
  const dir = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || dir === '') {
    throw new TestHostsError(`building the KVM test image failed (exit ${r.code}): ${tail(r.stderr, 5)}`, { where: BUILD_SCRIPT, hint: 'needs root, debootstrap, qemu-utils and the Debian mirror' });
  }
  return { dir, disk: join(dir, 'disk.qcow2'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), cmdline: (await readFile(join(dir, 'cmdline'), 'utf8')).trim() };
}
