import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchFailover } from './failover-bench.ts';
import { benchHealth } from './health-bench.ts';
import { benchDashboard } from './dashboard-bench.ts';
import { benchLocalClusters } from './local-clusters.ts';
import { benchReconcile } from './reconcile-bench.ts';
import { benchScale } from './scale-bench.ts';
import { benchServe } from './serve-bench.ts';
import { benchStack } from './stack-bench.ts';
import { machine, writeBenchResults } from './results.ts';

/**
 * `npm run bench [local|reconcile|scale|stack|serve|serve-idle|health|failover|dashboard|kvm] [options]`: runs the benchmarks
 * (all but `scale`, `serve`, `health`, `failover`, `dashboard` and `kvm` when none is named; `serve-idle` is serve's idle part alone) and writes bench-results/<date>.json.
 *
 *   --apps N            apps per cluster in `reconcile` (default 1000; env BENCH_APPS)
 *   --one-cluster       `reconcile` measures only the one-cluster round (env BENCH_ONE_CLUSTER=1)
 *   --sizes 1000,5000   app counts of the `scale` series (default 1000,5000,20000; env BENCH_SCALE_SIZES)
 *   --validated         `scale` also measures the validate-then-apply floor
 *   --pushes N          `serve`: pushes per path (webhook, hook, bare reconcile; default 20)
 *   --idle-seconds N    `serve`: the idle window of a 1,000-app serve (default 330: five polls and a drift re-check)
 *   --idle-apps N       `serve`: apps of the idle serve (default 1000)
 *   --failovers N       `failover`: kill → Healthy elsewhere runs (default 5)
 *   --dashboard-apps N  `dashboard`: apps of the served stack (default 1000), on 3 clusters
 *   --event-seconds N   `dashboard`: how long the idle event stream is read (default 60)
 *   --vm-rounds N       `kvm`: rounds of up / by hand for 1 and 3 VMs (default 1; needs root, minutes per round)
 *   --baseline DIR      a previous checkout of this repository whose CLI runs in the same rounds
 *                       (env BENCH_BASELINE), for an A/B under the same load
 */

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    apps: { type: 'string' },
    'one-cluster': { type: 'boolean' },
    sizes: { type: 'string' },
    validated: { type: 'boolean' },
    baseline: { type: 'string' },
    pushes: { type: 'string' },
    'idle-seconds': { type: 'string' },
    'idle-apps': { type: 'string' },
    failovers: { type: 'string' },
    'dashboard-apps': { type: 'string' },
    'event-seconds': { type: 'string' },
    'vm-rounds': { type: 'string' },
  },
});
const count = (text: string, what: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`bench: ${what} must be a positive whole number, got "${text}"\n`);
    process.exit(2);
  }
  return n;
};
const which = new Set(positionals);
const all = which.size === 0;
const baselineDir = values.baseline ?? process.env['BENCH_BASELINE'];
const baseline = baselineDir ? resolve(baselineDir) : undefined;
const started = new Date().toISOString();
const result: Record<string, unknown> = { date: started, machine: machine(), node: process.version, ...(baseline ? { baseline } : {}) };
if (all || which.has('local')) result['localClusters'] = await benchLocalClusters();
if (all || which.has('reconcile')) {
  result['reconcile'] = await benchReconcile({
    apps: count(values.apps ?? process.env['BENCH_APPS'] ?? '1000', '--apps'),
    oneClusterOnly: values['one-cluster'] === true || !!process.env['BENCH_ONE_CLUSTER'],
    ...(baseline ? { baseline } : {}),
  });
}
if (which.has('scale')) {
  const sizes = (values.sizes ?? process.env['BENCH_SCALE_SIZES'] ?? '1000,5000,20000').split(',').map((s) => count(s.trim(), '--sizes'));
  result['scale'] = await benchScale({ sizes, validated: values.validated === true, ...(baseline ? { baseline } : {}) });
}
if (all || which.has('stack')) result['stack'] = await benchStack();
if (which.has('serve') || which.has('serve-idle')) {
  result['serve'] = await benchServe({ latency: which.has('serve'), pushes: count(values.pushes ?? '20', '--pushes'), idleSeconds: count(values['idle-seconds'] ?? '330', '--idle-seconds'), idleApps: count(values['idle-apps'] ?? '1000', '--idle-apps') });
}
if (which.has('failover')) result['failover'] = await benchFailover({ runs: count(values.failovers ?? '5', '--failovers') });
if (which.has('health')) result['health'] = await benchHealth();
if (which.has('dashboard')) {
  result['dashboard'] = await benchDashboard({ apps: count(values['dashboard-apps'] ?? '1000', '--dashboard-apps'), runs: 5, eventSeconds: count(values['event-seconds'] ?? '60', '--event-seconds') });
}
if (which.has('kvm')) {
  // Loaded only when named: it brings the KVM module (and Pulumi) into this process.
  const { benchKvm, kvmBenchProgress, stopOnSignals } = await import('./kvm-bench.ts');
  result['kvm'] = await benchKvm({ rounds: count(values['vm-rounds'] ?? '1', '--vm-rounds'), signal: stopOnSignals(), progress: kvmBenchProgress });
}

const file = await writeBenchResults(started, result);
process.stdout.write(`${JSON.stringify(result, null, 2)}\nwritten to ${file}\n`);
