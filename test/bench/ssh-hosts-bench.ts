import { homedir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../clusters/host/command.ts';
import { connectHost, forEachHost, HostParallelism } from '../../modules/hosts/index.ts';
import type { TestHost } from '../harness/test-hosts.ts';
import { startTestHosts, stopTestHosts } from '../harness/test-hosts.ts';

/**
 * `node test/bench/ssh-hosts-bench.ts [file]` (root): the SSH layer on 1 and 6 real test hosts at
 * the default parallelism — connect, upload `file` (default: the pinned etcd binary), run a
 * command, close — then the same again (uploads skipped), next to OpenSSH's client doing the
 * upload by hand (`ssh host 'cat > f' < file`, all hosts at once) in the same run.
 */
const file = process.argv[2] ?? join(homedir(), '.cache/infra/bin/etcd-v3.6.16/etcd');
const hosts = await startTestHosts({ count: 6, prefix: 'bench' });
const opts = (h: TestHost) => ({ sshConfigPath: null, agent: false as const, name: h.name, hostKeys: { knownHostsFiles: [h.knownHostsPath] } });
const limit = new HostParallelism();

async function ours(group: readonly TestHost[], remote: string): Promise<number> {
  const t = performance.now();
  const outcomes = await forEachHost(
    group,
    async (h) => {
      const s = await connectHost({ host: h.address, user: 'root', identityFiles: [h.users.root.keyPath] }, opts(h));
      try {
        await s.upload(file, remote, { mode: '0755' });
        await s.run(['hostname'], { quiet: true });
      } finally {
        await s.close();
      }
    },
    { parallelism: limit },
  );
  const failed = outcomes.find((o) => !o.ok);
  if (failed && !failed.ok) throw failed.error;
  return performance.now() - t;
}

async function byHand(group: readonly TestHost[], remote: string): Promise<number> {
  const t = performance.now();
  await Promise.all(
    group.map(async (h) => {
      const ssh = ['-F', '/dev/null', '-i', h.users.root.keyPath, '-o', `UserKnownHostsFile=${h.knownHostsPath}`, '-o', 'BatchMode=yes', `root@${h.address}`];
      const r = await runCommand('sh', ['-c', 'f=$1; shift; ssh "$@" "mkdir -p /var/tmp/hand && cat > $0 && chmod 0755 $0 && hostname" < "$f"', remote, file, ...ssh]);
      if (r.code !== 0) throw new Error(`ssh by hand to ${h.name}: ${r.stderr}`);
    }),
  );
  return performance.now() - t;
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
try {
  const rows: string[] = [];
  for (const n of [1, 6]) {
    const group = hosts.slice(0, n);
    const hand = await byHand(group, `/var/tmp/hand/f-${n}`);
    const write = await ours(group, `/var/tmp/infra-bench/f-${n}`);
    const skip = await ours(group, `/var/tmp/infra-bench/f-${n}`);
    rows.push(`${n} host(s): infra write ${s(write)}, infra re-run (skipped) ${s(skip)}, OpenSSH by hand ${s(hand)} (ratio ${(write / hand).toFixed(2)})`);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
} finally {
  await stopTestHosts();
}
