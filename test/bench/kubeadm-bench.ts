/**
 * `infra up` of 1 control plane + 1 worker on SSH test hosts with `bootstrap: kubeadm`, next to
 * the same cluster with the default `binaries` bootstrap on fresh hosts in the same run, then a
 * second `up` of each (nothing to change). Needs root (test hosts).
 * `node test/bench/kubeadm-bench.ts [rounds]` prints JSON.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { binariesStack } from '../harness/binaries-stack.ts';
import { runInfra } from '../harness/cli.ts';
import { startTestHosts, stopTestHosts } from '../harness/test-hosts.ts';

const rounds = Number(process.argv[2] ?? '1');

async function timedUp(bootstrap: 'binaries' | 'kubeadm', round: number): Promise<{ bootstrap: string; upSeconds: number; secondUpSeconds: number }> {
  const hosts = await startTestHosts({ count: 2, prefix: `kb${round}` });
  try {
    const fx = await binariesStack(hosts, { cluster: `kb${round}`, controlPlanes: 1, user: 'alice' });
    const stack = parse(await readFile(fx.stackFile, 'utf8'));
    stack.clusters[0].bootstrap = bootstrap;
    await writeFile(fx.stackFile, stringify(stack));
    const time = async () => {
      const t0 = Date.now();
      const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
      if (up.code !== 0) throw new Error(`${bootstrap} up failed: ${up.stderr}`);
      return (Date.now() - t0) / 1000;
    };
    const upSeconds = await time();
    const secondUpSeconds = await time();
    return { bootstrap, upSeconds, secondUpSeconds };
  } finally {
    await stopTestHosts();
  }
}

const results: unknown[] = [];
for (let r = 0; r < rounds; r++) {
  for (const b of ['binaries', 'kubeadm'] as const) {
    results.push(await timedUp(b, r));
    console.error(JSON.stringify(results.at(-1)));
  }
}
console.log(JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
