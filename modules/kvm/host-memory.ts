/**
 * Whether the libvirt host can give a VM the memory the stack asks for, from `virsh nodememstats`
 * (pure). Available is what Linux could hand out without swapping: free plus buffers and page
 * cache. QEMU allocates lazily, so a VM that does not fit would start and then push the host into
 * swap or the OOM killer; infra refuses it before anything is defined.
 */

export interface HostMemory {
  readonly totalMiB: number;
  readonly availableMiB: number;
}

/** `total  :  24626040 KiB` lines → MiB; undefined when the output has no total or free. */
export function parseNodeMemStats(text: string): HostMemory | undefined {
  const kib = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z]+)\s*:\s*(\d+)\s*KiB/i.exec(line);
    if (m) kib.set(m[1]!.toLowerCase(), Number(m[2]));
  }
  const total = kib.get('total');
  const free = kib.get('free');
  if (total === undefined || free === undefined) return undefined;
  const available = free + (kib.get('buffers') ?? 0) + (kib.get('cached') ?? 0);
  return { totalMiB: Math.floor(total / 1024), availableMiB: Math.floor(available / 1024) };
}

/**
 * Why `needMiB` more memory does not fit on the host, or undefined when it does. `needMiB` is what
 * the change adds: a new VM's memory, or a restarted VM's growth (it gives its old memory back first).
 */
export function memoryShortfall(needMiB: number, host: HostMemory): string | undefined {
  if (needMiB <= host.availableMiB) return undefined;
  return `not enough memory on the libvirt host: ${needMiB} MiB more needed, ${host.availableMiB} MiB available (of ${host.totalMiB} MiB)`;
}
