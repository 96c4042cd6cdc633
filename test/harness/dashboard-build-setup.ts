import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/**
 * Builds the dashboard (dashboard/ → dashboard/dist) before the browser tests, so they always
 * drive the current sources, also in a fresh clone where `npm run build` has not run yet.
 */
export default async function setup(): Promise<void> {
  const started = Date.now();
  await build({ root: fileURLToPath(new URL('../../dashboard', import.meta.url)), logLevel: 'warn' });
  process.stderr.write(`[harness] dashboard built in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}
