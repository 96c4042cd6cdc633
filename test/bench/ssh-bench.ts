import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../clusters/host/command.ts';
import { connectHost } from '../../modules/hosts/index.ts';
import { startSshd } from '../harness/sshd-fixture.ts';

/**
 * `node test/bench/ssh-bench.ts <file>`: the SSH layer against a real loopback sshd, next to
 * OpenSSH's own client doing the same in the same run: connect + one command, and uploading
 * `file` (e.g. a pinned binary) — first write, then the idempotent skip.
 */
const file = process.argv[2];
if (!file) throw new Error('usage: node test/bench/ssh-bench.ts <file to upload>');
const sshd = await startSshd();
const knownHosts = join(sshd.dir, 'known_hosts');
await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
const target = { host: '127.0.0.1', port: sshd.port, user: 'root', identityFiles: [sshd.clientKeyPath] };
const options = { sshConfigPath: null, agent: false as const, hostKeys: { knownHostsFiles: [knownHosts] } };
const ssh = ['-F', '/dev/null', '-i', sshd.clientKeyPath, '-p', String(sshd.port), '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'BatchMode=yes', 'root@127.0.0.1'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
const rounds = 7;
const ours: number[] = [];
const openssh: number[] = [];
for (let i = 0; i < rounds; i++) {
  ours.push(
    await time(async () => {
      const s = await connectHost(target, options);
      await s.run(['true']);
      await s.close();
    }),
  );
  openssh.push(await time(() => runCommand('ssh', [...ssh, 'true'])));
}
const s = await connectHost(target, options);
const runs: number[] = [];
for (let i = 0; i < 20; i++) runs.push(await time(() => s.run(['true'])));
const remote = join(sshd.dir, 'upload', 'blob');
const write = await time(() => s.upload(file, remote, { mode: '0755' }));
const skip = await time(() => s.upload(file, remote, { mode: '0755' }));
const byHand = await time(() => runCommand('sh', ['-c', 'ssh "$@" "cat > /dev/null" < "$0"', file, ...ssh]));
const size = Number((await runCommand('stat', ['-c', '%s', file])).stdout.trim());
await s.close();
await sshd.stop();
const ms = (x: number) => `${x.toFixed(0)} ms`;
process.stdout.write(
  [
    `connect + run true + close (median of ${rounds}): infra ${ms(median(ours))}, OpenSSH ssh ${ms(median(openssh))} (ratio ${(median(ours) / median(openssh)).toFixed(2)})`,
    `run true on an open session (median of 20): ${ms(median(runs))}`,
    `upload ${(size / 1e6).toFixed(1)} MB: write+verify ${ms(write)}, skip (already there) ${ms(skip)}; OpenSSH cat > /dev/null ${ms(byHand)} (ratio ${(write / byHand).toFixed(2)})`,
  ].join('\n') + '\n',
);
