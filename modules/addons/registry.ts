import type { Addon } from './addon.ts';
import { cilium } from './cilium.ts';
import { flannel } from './flannel.ts';
import { localPath } from './local-path.ts';
import { rookCeph } from './rook-ceph.ts';
import { runtimes } from './runtimes.ts';

/** Every add-on infra knows, in apply order (network first, then storage, then runtimes). */
export const ADDONS: readonly Addon[] = [flannel, cilium, localPath, rookCeph, runtimes];

export function addonByName(name: string): Addon | undefined {
  return ADDONS.find((a) => a.name === name);
}
