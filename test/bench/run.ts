import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { benchLocalClusters } from './local-clusters.ts';

/** `npm run bench`: runs every benchmark and writes bench-results/<date>.json. */

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
const started = new Date().toISOString();
const local = await benchLocalClusters();
const result = { date: started, machine, node: process.version, localClusters: local };
await mkdir('bench-results', { recursive: true });
const file = `bench-results/${started.slice(0, 19).replace(/:/g, '-')}.json`;
await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(result, null, 2)}\nwritten to ${file}\n`);
