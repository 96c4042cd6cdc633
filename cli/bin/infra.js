#!/usr/bin/env node
// The `infra` command. Plain JavaScript that any Node can parse: the sources are TypeScript,
// which Node runs directly from 22.18 on (type stripping). An older Node (a system Node 20)
// hands over to the Node 24 that `npm install` brought (the `node` npm package), found
// relative to this package; failing that it says in one line what is needed.
// No heap flag: memory stays bounded by design, not by a cap that turns growth into a crash.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REEXEC = 'INFRA_NODE_REEXEC';

if (process.features?.typescript) {
  const { main } = await import('../main.ts');
  process.exitCode = await main(process.argv.slice(2));
  // Interrupted: do not linger on whatever an aborted operation left open (sockets, timers).
  if (process.exitCode === 130) process.exit(130);
} else {
  const node = process.env[REEXEC] ? undefined : bundledNode();
  if (!node) {
    process.stderr.write(
      `error: infra needs Node >= 22.18 (it runs TypeScript directly); this is Node ${process.versions.node} at ${process.execPath} — run \`npm install\` in the infra package (it brings Node 24) and use \`npx infra\`, or put Node >= 22.18 first on PATH\n`,
    );
    process.exitCode = 2;
  } else {
    process.exitCode = await handOver(node);
  }
}

/** The Node of the `node` npm package: in this package's node_modules, or a parent's (hoisted). */
function bundledNode() {
  let dir = dirname(dirname(dirname(realpathSync(fileURLToPath(import.meta.url)))));
  for (;;) {
    for (const candidate of [join(dir, 'node_modules', 'node', 'bin', 'node'), join(dir, 'node_modules', '.bin', 'node')]) {
      if (existsSync(candidate) && realpathSync(candidate) !== realpathSync(process.execPath)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Runs this same file under `node` and mirrors its end. A terminal's Ctrl-C reaches both
 * processes (one process group); a signal sent to this process alone is passed on.
 */
function handOver(node) {
  return new Promise((resolve) => {
    const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [REEXEC]: '1' },
    });
    const forward = (signal) => () => child.kill(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.on('error', (err) => {
      process.stderr.write(`error: could not start ${node}: ${err.message}\n`);
      resolve(2);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 1));
    });
  });
}
