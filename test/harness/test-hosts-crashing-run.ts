import { startTestHosts } from './test-hosts.ts';

/**
 * A test run that dies without cleaning up (test-hosts test): starts one host, prints its
 * address, then waits to be SIGKILLed.
 */
const [host] = await startTestHosts({ count: 1, prefix: 'crashed' });
process.stdout.write(`up ${host?.address}\n`);
setInterval(() => undefined, 60_000);
