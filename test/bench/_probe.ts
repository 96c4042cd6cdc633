import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../clusters/kube-client.ts';
import { downLocalCluster, upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { createNamespaces, INFRA_ROOT, rawLoop, runReconcile, writeRepo, writeStack } from './reconcile-fixture.ts';

const apps = Number(process.argv[2] ?? 1000);
const roots = process.argv.slice(3);
const home = await mkdtemp(join(tmpdir(), 'infra-probe-'));
const env = { ...process.env, INFRA_HOME: home };
const repo = await GitFixture.create();
const c = await upLocalCluster('pa', { nodes: 1, unsafeNoFsync: true, env });
async function metrics(): Promise<Map<string, { n: number; s: number }>> {
  const client = new KubeClient(c.name, c.kubeconfig);
  const text = await client.request<string>('GET', '/metrics', { accept: 'text/plain', text: true });
  client.close();
  const m = new Map<string, { n: number; s: number }>();
  for (const line of text.split('\n')) {
    const cnt = /^apiserver_request_duration_seconds_count\{(.*)\} (\S+)$/.exec(line);
    const sum = /^apiserver_request_duration_seconds_sum\{(.*)\} (\S+)$/.exec(line);
    const x = cnt ?? sum;
    if (!x) continue;
    const labels = x[1]!;
    const g = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(labels)?.[1] ?? '';
    const key = `${g('verb')} ${g('resource')} ${g('dry_run')} ${g('scope')}`;
    const e = m.get(key) ?? { n: 0, s: 0 };
    if (cnt) e.n += Number(x[2]); else e.s += Number(x[2]);
    m.set(key, e);
  }
  return m;
}
function delta(a: Map<string, { n: number; s: number }>, b: Map<string, { n: number; s: number }>) {
  const rows: string[] = [];
  for (const [k, v] of b) {
    const o = a.get(k) ?? { n: 0, s: 0 };
    if (v.n - o.n > 0) rows.push(`${String(v.n - o.n).padStart(7)} ${(v.s - o.s).toFixed(1).padStart(8)}s ${((1000 * (v.s - o.s)) / (v.n - o.n)).toFixed(1).padStart(6)}ms  ${k}`);
  }
  return rows.sort().join('\n');
}
try {
  await createNamespaces([c], ['pns-raw', 'pns-rawv', ...roots.map((_, i) => `pns${i}`)]);
  let m0 = await metrics();
  let t = performance.now();
  await rawLoop([c], 'p', 'pns-raw', apps);
  console.log(`raw ${((performance.now() - t) / 1000).toFixed(1)}s`);
  let m1 = await metrics();
  console.log(delta(m0, m1));
  t = performance.now();
  await rawLoop([c], 'p', 'pns-rawv', apps, true);
  console.log(`rawv ${((performance.now() - t) / 1000).toFixed(1)}s`);
  m0 = await metrics();
  console.log(delta(m1, m0));
  for (const [i, root] of (roots.length ? roots : [INFRA_ROOT]).entries()) {
    await writeRepo(repo, `p${i}x`, `pns${i}`, apps);
    const stack = await writeStack(home, repo.dir, `p${i}x`, `pns${i}`, [c], apps);
    m0 = await metrics();
    const r = await runReconcile(root, stack, env);
    m1 = await metrics();
    console.log(`${root} apply ${r.seconds.toFixed(1)}s rss ${r.peakRssMiB}`);
    console.log(delta(m0, m1));
    const r2 = await runReconcile(root, stack, env);
    m0 = await metrics();
    console.log(`${root} noop ${r2.seconds.toFixed(1)}s rss ${r2.peakRssMiB}`);
    console.log(delta(m1, m0));
  }
} finally {
  await downLocalCluster(c.name, { purge: true, env });
  await repo.remove();
}
