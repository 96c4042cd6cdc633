import { createServer } from 'node:http';
import { KubeClient } from '../../clusters/kube-client.ts';
import { LeaseStore } from '../../reconciler/leases/lease-store.ts';
import { shardGauge } from '../../reconciler/leases/metrics.ts';
import { ServeMetrics } from '../../reconciler/serve/metrics.ts';
import { ShardOwnership } from '../../reconciler/leases/shard-ownership.ts';
import { reconcile } from '../../reconciler/reconcile.ts';
import { loadStackFile } from '../../stacks/load.ts';

/**
 * One replica as its own process (leases test, until `infra serve` runs the same loop): holds
 * its share of the shards on the management cluster and reconciles the apps it owns, each with
 * its shard's AbortSignal, again every `pollMs`. Prints one JSON line per event on stdout
 * (ready, acquired/lost, begin/end of a reconcile) and serves its metrics on a loopback port.
 * SIGTERM: stop taking work, finish the reconciles in flight, release the leases, exit 0.
 */

interface ReplicaConfig {
  readonly identity: string;
  readonly managementKubeconfig: string;
  readonly namespace: string;
  readonly stackFile: string;
  readonly cacheRoot: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly pollMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ReplicaConfig;
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify({ t: Date.now(), replica: config.identity, ...event })}\n`);
const stack = await loadStackFile(config.stackFile);
const metrics = new ServeMetrics({ processMetrics: false });
const registry = metrics.registry;
const client = new KubeClient('management', config.managementKubeconfig);
const running = new Map<string, Promise<void>>();
const ownership = new ShardOwnership({
  store: new LeaseStore(client, config.namespace),
  identity: config.identity,
  timing: { leaseDurationMs: config.leaseDurationMs, renewDeadlineMs: config.renewDeadlineMs, retryPeriodMs: config.retryPeriodMs },
  gauge: shardGauge(metrics.leaseOwned),
  log: (level, msg, fields) => say({ event: 'log', level, msg, ...fields }),
  drain: async (shard) => {
    await Promise.all([...running].filter(([app]) => ownership.shardOf(app) === shard).map(([, p]) => p));
  },
});
ownership.onChange(({ gained, lost }) => {
  for (const shard of gained) say({ event: 'acquired', shard });
  for (const shard of lost) say({ event: 'lost', shard });
  if (gained.length > 0) kick();
});

let accepting = true;
let busy = false;
/**
 * Reconciles the owned apps one at a time (two reconcile() calls sharing a cache would race on
 * the git mirror), each with its shard's signal; apps owned by no shard here are skipped.
 */
function kick(): void {
  if (!accepting || busy) return;
  busy = true;
  void (async () => {
    for (const app of stack.gitops.apps) {
      if (!accepting || !ownership.owns(app.name)) continue;
      const signal = ownership.signal(app.name);
      say({ event: 'begin', app: app.name, shard: ownership.shardOf(app.name) });
      const p = reconcile({ stack, apps: [app.name], cacheRoot: config.cacheRoot, retryForMs: 5_000, signal })
        .then((statuses) => say({ event: 'end', app: app.name, result: statuses.map((s) => `${s.cluster}:${s.sync}:${s.revision.slice(0, 8)}${s.error ? `:${s.error.reason}:${s.error.message.slice(0, 200)}` : ''}`).join(',') }))
        .catch((err: unknown) => say({ event: 'end', app: app.name, aborted: signal.aborted, error: (err as Error).message }))
        .finally(() => running.delete(app.name));
      running.set(app.name, p);
      await p;
    }
  })().finally(() => (busy = false));
}

const server = createServer((req, res) => {
  if (req.url !== '/metrics') return void res.writeHead(404).end();
  void registry.metrics().then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;

await ownership.start();
const poll = setInterval(kick, config.pollMs);
say({ event: 'ready', port, held: ownership.held() });
kick();

process.on('SIGTERM', () => {
  accepting = false;
  clearInterval(poll);
  say({ event: 'draining', inFlight: [...running.keys()] });
  void Promise.all(running.values())
    .then(() => ownership.release())
    .then(() => {
      say({ event: 'released' });
      server.close();
      client.close();
      process.exit(0);
    });
});
