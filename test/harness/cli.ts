import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs the real `infra` CLI as a separate process, the way a user does. */

export const INFRA_BIN = fileURLToPath(new URL('../../cli/bin/infra.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runInfra(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INFRA_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
