/**
 * Bootstrap of a `binaries` cluster on 1, 3 and 6 SSH test hosts (1 control plane, the rest
 * workers) with `infra up`, next to the bare steps by hand on fresh hosts in the same run: the
 * same bytes uploaded with `ssh host 'cat > file'` and the services started, no checks, no
 * waits. Needs root (test hosts). `node test/bench/binaries-bench.ts [sizes]` prints JSON.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { ensureClusterPki } from '../../modules/distributions/binaries/cluster-pki.ts';
import { clusterArtifacts } from '../../modules/distributions/binaries/effects/artifacts.ts';
import { controlPlaneFiles, workerFiles } from '../../modules/distributions/binaries/host-files.ts';
import { planTopology } from '../../modules/distributions/binaries/topology.ts';
import { controlPlaneSteps, workerSteps } from '../../modules/distributions/binaries/steps.ts';
import { parseStack } from '../../stacks/load.ts';
import { readFile } from 'node:fs/promises';
import { binariesStack } from '../harness/binaries-stack.ts';
import { runInfra } from '../harness/cli.ts';
import { startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

const sizes = (process.argv[2] ?? '1,3,6').split(',').map(Number);

function ssh(h: TestHost, command: string, input?: NodeJS.ReadableStream | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('ssh', ['-i', h.users.root.keyPath, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${h.knownHostsPath}`, `root@${h.address}`, command], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${h.name}: ${command}: ${err}`))));
    if (typeof input === 'string') p.stdin.end(input);
    else if (input) input.pipe(p.stdin);
    else p.stdin.end();
  });
}

async function bare(hosts: TestHost[], stackFile: string): Promise<number> {
  const stack = parseStack(stackFile, await readFile(stackFile, 'utf8'));
  const t = planTopology(stack.clusters[0]!, stack.hosts);
  const pki = await ensureClusterPki(t);
  const artifacts = await clusterArtifacts();
  const started = Date.now();
  await Promise.all(hosts.map(async (h) => {
    const cp = t.controlPlanes.find((c) => c.name === h.name);
    const node = t.workers.find((w) => w.name === h.name);
    const steps = [...(cp ? controlPlaneSteps(cp, controlPlaneFiles(t, cp, pki), artifacts) : []), ...(node ? workerSteps(t, node, workerFiles(t, node, pki, { cgroupDriver: 'systemd' }), artifacts) : [])];
    for (const s of steps) {
      for (const a of s.apply) {
        if (a.kind !== 'upload') continue;
        const from = a.source.kind === 'local' ? createReadStream(a.source.path) : a.source.content;
        await ssh(h, `mkdir -p $(dirname ${a.path}) && cat > ${a.path} && chmod ${a.mode.toString(8)} ${a.path}`, from);
      }
    }
    const services = [...(cp ? ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] : []), ...(node ? ['containerd', 'kubelet'] : [])];
    await ssh(h, `mkdir -p /var/lib/etcd && chmod 700 /var/lib/etcd && systemctl daemon-reload && systemctl start ${services.join(' ')}`);
  }));
  return (Date.now() - started) / 1000;
}

const results: Record<string, unknown>[] = [];
for (const n of sizes) {
  let hosts = await startTestHosts({ count: n, prefix: `bench${n}` });
  const fx = await binariesStack(hosts, { cluster: `bench${n}`, controlPlanes: 1, user: 'root' });
  const t0 = Date.now();
  const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
  const upSeconds = (Date.now() - t0) / 1000;
  if (up.code !== 0) throw new Error(`up of ${n} hosts failed: ${up.stderr}`);
  await stopTestHosts();
  hosts = await startTestHosts({ count: n, prefix: `bench${n}` });
  const bareSeconds = await bare(hosts, fx.stackFile);
  await stopTestHosts();
  results.push({ hosts: n, upSeconds, bareSeconds, ratio: Number((upSeconds / bareSeconds).toFixed(2)) });
  console.error(JSON.stringify(results.at(-1)));
}
console.log(JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
