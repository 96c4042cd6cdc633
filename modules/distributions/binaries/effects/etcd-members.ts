import type { RemoteHost } from '../../../hosts/index.ts';
import { BIN_DIR, pki } from '../layout.ts';
import type { MemberHealth } from '../removal-plan.ts';
import { ETCD_CLIENT_PORT } from '../topology.ts';

/** etcdctl on a control-plane host, as the apiserver's etcd client. */
export function etcdctl(address: string): string {
  return `${BIN_DIR}/etcdctl --endpoints=https://${address}:${ETCD_CLIENT_PORT} --cacert=${pki('ca.crt')} --cert=${pki('apiserver-etcd-client.crt')} --key=${pki('apiserver-etcd-client.key')}`;
}

export interface EtcdMember extends MemberHealth {
  readonly hexId: string;
}

/**
 * `etcdctl member list -w json`. Member IDs are uint64: parsed as JSON numbers they lose their
 * low bits (and `member remove` then finds no such member), so they are read as strings.
 */
export function parseMemberList(json: string): { name: string; hexId: string; clientURLs?: string[]; peerURLs?: string[] }[] {
  const text = json.replace(/"(ID|member_id|cluster_id)":(\d+)/g, '"$1":"$2"');
  const members = (JSON.parse(text) as { members?: { ID: string; name?: string; clientURLs?: string[]; peerURLs?: string[] }[] }).members ?? [];
  // A member added but not started yet has no name (etcd leaves it out of the JSON).
  return members.map((m) => ({ name: m.name ?? '', hexId: BigInt(m.ID).toString(16), ...(m.clientURLs ? { clientURLs: m.clientURLs } : {}), ...(m.peerURLs ? { peerURLs: m.peerURLs } : {}) }));
}

/** The members etcd knows and whether each answers its health check, asked through `via`. */
export async function etcdMembers(h: RemoteHost, viaAddress: string): Promise<EtcdMember[]> {
  const list = await h.run({ script: `${etcdctl(viaAddress)} member list -w json` }, { sudo: true, quiet: true, step: 'list etcd members' });
  const members = parseMemberList(list.stdout);
  const out: EtcdMember[] = [];
  for (const m of members) {
    const url = m.clientURLs?.[0];
    const healthy = url
      ? (await h.run({ script: `${etcdctl(viaAddress)} --endpoints=${url} --command-timeout=3s endpoint health >/dev/null 2>&1` }, { sudo: true, quiet: true, okExitCodes: [0, 1], step: 'etcd health' })).code === 0
      : false;
    out.push({ name: m.name, healthy, hexId: m.hexId });
  }
  return out;
}
