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

/** The members etcd knows and whether each answers its health check, asked through `via`. */
export async function etcdMembers(h: RemoteHost, viaAddress: string): Promise<EtcdMember[]> {
  const list = await h.run({ script: `${etcdctl(viaAddress)} member list -w json` }, { sudo: true, quiet: true, step: 'list etcd members' });
  const members = (JSON.parse(list.stdout) as { members?: { ID: number | string; name: string; clientURLs?: string[] }[] }).members ?? [];
  const out: EtcdMember[] = [];
  for (const m of members) {
    const url = m.clientURLs?.[0];
    const healthy = url
      ? (await h.run({ script: `${etcdctl(viaAddress)} --endpoints=${url} --command-timeout=3s endpoint health >/dev/null 2>&1` }, { sudo: true, quiet: true, okExitCodes: [0, 1], step: 'etcd health' })).code === 0
      : false;
    out.push({ name: m.name, healthy, hexId: BigInt(m.ID).toString(16) });
  }
  return out;
}
