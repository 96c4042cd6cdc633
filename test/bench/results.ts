import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';

/** The machine a benchmark ran on, as BENCHMARKS.md names it: `2 x <cpu model>, 24 GiB`. */
export function machine(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
}

/** Writes a run's figures to bench-results/<started>.json (colons made dashes) and returns the path. */
export async function writeBenchResults(started: string, result: Record<string, unknown>): Promise<string> {
  await mkdir('bench-results', { recursive: true });
  const file = `bench-results/${started.slice(0, 19).replace(/:/g, '-')}.json`;
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
