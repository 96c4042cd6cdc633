import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { BinaryUnavailableError } from '../errors.ts';
import { runCommand, tail } from '../host/command.ts';
import { goBuildArgs, wrapperGoMod, wrapperToolsFile } from './go-module.ts';
import type { BinarySpec } from './versions.ts';

export type { Progress } from './heartbeat.ts';

/** Finds the `go` toolchain, or undefined when there is none. */
export async function goVersion(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    const r = await runCommand('go', ['env', 'GOVERSION'], { env });
    return r.code === 0 ? r.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds one pinned binary from the Go module proxy into `targetDir/<name>`, through a
 * wrapper module generated in `workDir`. The binary appears atomically (built under a
 * temporary name, then renamed), so a crash mid-build never leaves a half binary in the cache.
 */
export async function buildWithGo(
  spec: BinarySpec,
  workDir: string,
  targetDir: string,
  options: { env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<string> {
  const { recipe } = spec;
  const env = { ...options.env, CGO_ENABLED: recipe.cgo ? '1' : '0', GOFLAGS: '-mod=mod' };
  const fail = (step: string, detail: string): never => {
    throw new BinaryUnavailableError(`building ${spec.name} v${spec.version} failed at ${step}: ${detail}`, {
      hint: 'check network access to the Go module proxy (GOPROXY) and disk space, or put the binary in $INFRA_BIN_DIR',
    });
  };
  const go = async (args: string[], cwd: string) => {
    const r = await runCommand('go', args, { cwd, env, signal: options.signal });
    if (r.code !== 0) fail(`go ${args[0]}`, tail(r.stderr));
    return r.stdout;
  };

  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const info = JSON.parse(await go(['mod', 'download', '-json', `${recipe.module}@${recipe.moduleVersion}`], workDir)) as {
    GoMod?: string;
  };
  if (!info.GoMod) fail('go mod download', `no go.mod reported for ${recipe.module}@${recipe.moduleVersion}`);
  const targetGoMod = await readFile(info.GoMod as string, 'utf8');
  await writeFile(join(workDir, 'go.mod'), wrapperGoMod(recipe, targetGoMod));
  await writeFile(join(workDir, 'tools.go'), wrapperToolsFile(recipe));
  await go(['mod', 'tidy'], workDir);

  await mkdir(targetDir, { recursive: true });
  const output = join(targetDir, spec.name);
  const partial = `${output}.partial-${process.pid}`;
  await go(goBuildArgs(recipe, partial), workDir);
  await rename(partial, output);
  await rm(workDir, { recursive: true, force: true });
  return output;
}
