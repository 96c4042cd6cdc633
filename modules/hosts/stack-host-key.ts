import type { HostSpec } from '../../stacks/model.ts';
import type { HostKeyPin } from './host-key-policy.ts';
import { fingerprintOf, knownHostsName } from './known-hosts.ts';

/** The stack's `hostKey` (`<type> <base64>`, as in known_hosts) as a pin; none: pinned on first use. */
export function hostKeyPins(h: HostSpec): HostKeyPin[] {
  if (!h.hostKey || !h.address) return [];
  const [type, publicKey] = h.hostKey.trim().split(/\s+/);
  if (!type || !publicKey) return [];
  return [{ name: knownHostsName(h.address, h.port), type, publicKey, fingerprint: fingerprintOf(Buffer.from(publicKey, 'base64')) }];
}
