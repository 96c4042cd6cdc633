import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../clusters/host/command.ts';
import { LibvirtError } from './errors.ts';

/**
 * libvirt through `virsh -c <uri>`: an argument vector (never a shell string); a failure is a
 * LibvirtError with libvirt's own message (its `error:` lines), the URI and the resource.
 */
export interface Libvirt {
  readonly uri: string;
  run(args: readonly string[], resource: string, options?: { signal?: AbortSignal }): Promise<string>;
  /** Like run, but a failure is returned (for "does it exist" probes). */
  probe(args: readonly string[], options?: { signal?: AbortSignal }): Promise<{ ok: boolean; stdout: string; message: string }>;
  /** Runs a command that takes an XML file (define, net-define, pool-define, vol-create). */
  withXml(command: string, xml: string, extra: readonly string[], resource: string, options?: { signal?: AbortSignal }): Promise<string>;
}

export function libvirt(uri: string): Libvirt {
  const base = ['-q', '-c', uri];
  const self: Libvirt = {
    uri,
    async run(args, resource, options = {}) {
      const r = await runCommand('virsh', [...base, ...args], options.signal ? { signal: options.signal } : {});
      if (r.code !== 0) throw new LibvirtError(`virsh ${args[0] ?? ''} failed: ${libvirtMessage(r.stderr || r.stdout)}`, { uri, resource, hint: hintFor(r.stderr) });
      return r.stdout;
    },
    async probe(args, options = {}) {
      const r = await runCommand('virsh', [...base, ...args], options.signal ? { signal: options.signal } : {});
      return { ok: r.code === 0, stdout: r.stdout, message: libvirtMessage(r.stderr) };
    },
    async withXml(command, xml, extra, resource, options = {}) {
      const dir = await mkdtemp(join(tmpdir(), 'infra-kvm-'));
      try {
        const file = join(dir, 'object.xml');
        await writeFile(file, xml, { mode: 0o600 });
        return await self.run([command, ...extra, file], resource, options);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return self;
}

/** libvirt's message from virsh's stderr, on one line. */
export function libvirtMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.replace(/^error:\s*/, ''));
  return lines.join('; ') || 'no message';
}

function hintFor(stderr: string): string {
  if (/Failed to connect|No such file or directory.*sock|Cannot recv data|unable to connect/i.test(stderr)) return 'check the site\'s libvirt URI and that libvirtd runs there';
  return 'see libvirt\'s message';
}
