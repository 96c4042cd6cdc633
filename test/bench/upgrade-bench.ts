/**
 * A version change of a `binaries` cluster on 3 SSH test hosts (1 control plane + 2 workers):
 * `infra up` 1.34.3 → 1.34.4 (the roll: one host at a time, drain, wait Ready, uncordon), a
 * no-op `up` (what the engine and the checks cost alone), and in the same run the bare steps by
 * hand on the same hosts, one host at a time like the roll: the other version's kube-* binaries
 * uploaded with `ssh host 'cat > file'` and the services restarted, no drain and no waits.
 * Needs root (test hosts). `node test/bench/upgrade-bench.ts` prints JSON.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { resolveBinaries } from '../../clusters/tools/resolver.ts';
import { VERSIONED_BINARY_NAMES } from '../../clusters/tools/versions.ts';
import { binariesStack, writeStack } from '../harness/binaries-stack.ts';
import { runInfra } from '../harness/cli.ts';
import { startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

function ssh(h: TestHost, command: string, input?: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('ssh', ['-i', h.users.root.keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${h.knownHostsPath}`, `root@${h.address}`, command], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${h.name}: ${command}: ${err}`))));
    if (input) input.pipe(p.stdin);
    else p.stdin.end();
  });
}

const seconds = (since: number) => Number(((Date.now() - since) / 1000).toFixed(1));

const hosts = await startTestHosts({ count: 3, prefix: 'upb' });
try {
  const fx = await binariesStack(hosts, { cluster: 'upb', controlPlanes: 1, user: 'root', version: '1.34.3' });
  const up = async () => {
    const t0 = Date.now();
    const r = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    if (r.code !== 0) throw new Error(`up failed: ${r.stdout}\n${r.stderr}`);
    return seconds(t0);
  };
  const bootstrapSeconds = await up();
  await writeStack(fx.stackFile, hosts, 'upb', 1, 'root', undefined, { version: '1.34.4' });
  const rollSeconds = await up();
  const noopSeconds = await up();
  // By hand, the same amount of bytes and restarts: back to 1.34.3, one host at a time.
  const old = await resolveBinaries(VERSIONED_BINARY_NAMES, { kubernetesVersion: '1.34.3' });
  const t0 = Date.now();
  const perHost: Record<string, number> = {};
  for (const [i, h] of hosts.entries()) {
    const started = Date.now();
    const names = i === 0 ? (['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) : (['kubelet'] as const);
    for (const n of names) await ssh(h, `cat > /usr/local/bin/${n}.new && chmod 755 /usr/local/bin/${n}.new && mv -f /usr/local/bin/${n}.new /usr/local/bin/${n}`, createReadStream(old[n].path));
    await ssh(h, `systemctl restart ${names.join(' ')}`);
    perHost[h.name] = seconds(started);
  }
  const bareSeconds = seconds(t0);
  const result = {
    date: new Date().toISOString(),
    hosts: 3,
    bootstrapSeconds,
    rollSeconds,
    noopSeconds,
    rollPerHostSeconds: Number(((rollSeconds - noopSeconds) / 3).toFixed(1)),
    bareSeconds,
    barePerHost: perHost,
    ratio: Number((rollSeconds / bareSeconds).toFixed(2)),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await stopTestHosts();
}
