import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs the real `infra` CLI as a separate process, the way a user does. */

/**
 * Budget of a test that starts the whole CLI as a process (Node start, TypeScript type
 * stripping, the command itself): seconds on a loaded 2-core machine, far above vitest's 5 s
 * default for pure unit tests. A test that spawns the CLI declares it, so load never turns
 * into a timeout of a test that checks behaviour, not speed.
 */
export const CLI_TEST_TIMEOUT_MS = 60_000;

export const INFRA_BIN = fileURLToPath(new URL('../../cli/bin/infra.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Resolves with the exit code and output; with `signal`, an abort stops the CLI (SIGTERM) and rejects. */
export function runInfra(args: readonly string[], env: NodeJS.ProcessEnv, options: { signal?: AbortSignal } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INFRA_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the CLI without waiting for it, so a test can kill it midway. */
export function startInfra(args: readonly string[], env: NodeJS.ProcessEnv) {
  return spawn(process.execPath, [INFRA_BIN, ...args], { env, stdio: 'ignore' });
}
