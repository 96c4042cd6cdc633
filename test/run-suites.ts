/**
 * `npm test`'s runner: two vitest processes at once, so the SSH test hosts (systemd-nspawn hosts
 * that mostly wait on boots, SSH round trips and kubelets) run beside the other projects instead
 * of after them. Inside one vitest process every project without file parallelism joins one
 * one-file-at-a-time queue (vitest's `groupSpecs`), which made the suite the sum of both chains.
 *
 * The two suites share no resource: the hosts live in their own network namespaces and slots
 * (test/harness/test-hosts*.ts); the local clusters, browser and VMs of the other suite are on
 * loopback and in their own namespaces (test/harness/global-setup.ts, kvm-harness.ts).
 *
 * Arguments go to both vitest runs. `--outputFile.json=F` is written per suite and merged into F.
 * With `--project` in the arguments, one plain `vitest run` with those arguments runs instead.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

interface Suite {
  readonly name: string;
  readonly projects: readonly string[];
}

const SUITES: readonly Suite[] = [
  { name: 'hosts', projects: ['hosts'] },
  { name: 'main', projects: ['unit', 'ssh', 'integration', 'browser', 'kvm'] },
];

const VITEST = 'node_modules/.bin/vitest';
const JSON_OUT = '--outputFile.json=';

const args = process.argv.slice(2);
const children = new Set<ReturnType<typeof spawn>>();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const c of children) c.kill(sig);
  });
}

function run(argv: readonly string[], prefix: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(VITEST, ['run', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    children.add(child);
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ] as const) {
      createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to.write(`${prefix}${line}\n`));
    }
    child.on('error', (err) => {
      process.stderr.write(`${prefix}cannot start vitest (${VITEST}): ${err.message}; run npm ci first\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTestSuites: number;
  numPassedTestSuites: number;
  numFailedTestSuites: number;
  numPendingTestSuites: number;
  success: boolean;
  startTime: number;
  testResults: unknown[];
}

const SUMMED = ['numTotalTests', 'numPassedTests', 'numFailedTests', 'numPendingTests', 'numTodoTests', 'numTotalTestSuites', 'numPassedTestSuites', 'numFailedTestSuites', 'numPendingTestSuites'] as const;

async function mergeReports(files: readonly string[], into: string): Promise<void> {
  const reports: JsonReport[] = [];
  for (const f of files) {
    try {
      reports.push(JSON.parse(await readFile(f, 'utf8')) as JsonReport);
    } catch {
      // That suite crashed before writing its report: its exit code already fails the run.
    }
    await rm(f, { force: true });
  }
  if (reports.length === 0) return;
  const merged = { ...reports[0]!, testResults: reports.flatMap((r) => r.testResults), success: reports.length === files.length && reports.every((r) => r.success), startTime: Math.min(...reports.map((r) => r.startTime)) };
  for (const k of SUMMED) merged[k] = reports.reduce((n, r) => n + (r[k] ?? 0), 0);
  await writeFile(into, JSON.stringify(merged));
}

// Every project of vitest.config.ts belongs to exactly one suite: a new project is never left out silently.
const config = (await import('../vitest.config.ts')).default as { test?: { projects?: { test?: { name?: string } }[] } };
const declared = (config.test?.projects ?? []).map((p) => p.test?.name ?? '');
const covered = SUITES.flatMap((s) => s.projects);
const stray = declared.filter((n) => !covered.includes(n)).concat(covered.filter((n) => !declared.includes(n)));
if (stray.length > 0) {
  process.stderr.write(`test/run-suites.ts: projects not matching vitest.config.ts: ${stray.join(', ')} (add each to one suite in SUITES)\n`);
  process.exit(2);
}

if (args.includes('--project') || args.some((a) => a.startsWith('--project='))) {
  process.exitCode = await run(args, '');
} else {
  const jsonOut = args.find((a) => a.startsWith(JSON_OUT))?.slice(JSON_OUT.length);
  const perSuite = SUITES.map((s) => (jsonOut ? `${jsonOut}.${s.name}` : undefined));
  const codes = await Promise.all(
    SUITES.map((s, i) => {
      const own = args.map((a) => (a.startsWith(JSON_OUT) ? `${JSON_OUT}${perSuite[i]}` : a));
      return run([...s.projects.flatMap((p) => ['--project', p]), ...own], `[${s.name}] `);
    }),
  );
  if (jsonOut) await mergeReports(perSuite.filter((f): f is string => f !== undefined), jsonOut);
  SUITES.forEach((s, i) => process.stdout.write(`suite ${s.name}: ${codes[i] === 0 ? 'passed' : `failed (exit ${codes[i]})`}\n`));
  process.exitCode = codes.some((c) => c !== 0) ? 1 : 0;
}
