import { describe, expect, it } from 'vitest';
import { memoryShortfall, parseNodeMemStats } from '../../modules/kvm/host-memory.ts';

const STATS = `total  :             24626040 KiB
free   :              1120900 KiB
buffers:               413208 KiB
cached :              8114128 KiB
`;

describe('the libvirt host has memory for a VM', () => {
  it('reads total and available (free + buffers + cache) from virsh nodememstats', () => {
    expect(parseNodeMemStats(STATS)).toEqual({ totalMiB: 24048, availableMiB: 9422 });
    expect(parseNodeMemStats('error: failed')).toBeUndefined();
  });

  it('refuses what does not fit, naming the need and what there is', () => {
    const host = parseNodeMemStats(STATS)!;
    expect(memoryShortfall(2048, host)).toBeUndefined();
    expect(memoryShortfall(9422, host)).toBeUndefined();
    expect(memoryShortfall(4096 * 1024, host)).toBe('not enough memory on the libvirt host: 4194304 MiB more needed, 9422 MiB available (of 24048 MiB)');
  });
});
