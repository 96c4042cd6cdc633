import type { Addon } from './addon.ts';
import { flannel } from './flannel.ts';

/** Every add-on infra knows, in apply order (network first, then storage, then runtimes). */
export const ADDONS: readonly Addon[] = [flannel];

export function addonByName(name: string): Addon | undefined {
  return ADDONS.find((a) => a.name === name);
}
