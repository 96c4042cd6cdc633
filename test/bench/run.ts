import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { benchLocalClusters } from './local-clusters.ts';
import { benchReconcile } from './reconcile-bench.ts';
import { benchStack } from './stack-bench.ts';

/** `npm run bench [local|reconcile|stack]`: runs the benchmarks and writes bench-results/<date>.json. */

const which = new Set(process.argv.slice(2));
const all = which.size === 0;
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
const started = new Date().toISOString();
const result: Record<string, unknown> = { date: started, machine, node: process.version };
if (all || which.has('local')) result['localClusters'] = await benchLocalClusters();
if (all || which.has('reconcile')) result['reconcile'] = await benchReconcile();
if (all || which.has('stack')) result['stack'] = await benchStack();
await mkdir('bench-results', { recursive: true });
const file = `bench-results/${started.slice(0, 19).replace(/:/g, '-')}.json`;
await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\nwritten to ${file}\n`);
