import { LockHeldError } from '../../clusters/errors.ts';
import { acquireLock } from '../../clusters/host/file-lock.ts';

/**
 * One contender for a lock, as its own process (file-lock test): says `ready`, races on `go`
 * (a line on stdin), prints `won` or `refused`, and a winner holds the lock until stdin closes.
 */
const path = process.argv[2] ?? '';
const lines = process.stdin.setEncoding('utf8');
let buffered = '';
const go = new Promise<void>((resolve) => {
  lines.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.includes('go\n')) resolve();
  });
});
const closed = new Promise<void>((resolve) => lines.on('end', resolve));
process.stdout.write('ready\n');
await go;
try {
  const lock = await acquireLock(path, { what: 'test', wait: false });
  process.stdout.write('won\n');
  await closed;
  await lock.release();
} catch (err) {
  if (!(err instanceof LockHeldError)) throw err;
  process.stdout.write('refused\n');
}
