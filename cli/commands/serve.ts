import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { cacheDir, infraHome } from '../../clusters/host/paths.ts';
import type { ClusterHealth } from '../../clusters/health/index.ts';
import { loadAuthFile } from '../../reconciler/dashboard/auth.ts';
import { seedFromRecords, ServeDashboardBackend } from '../../reconciler/dashboard/backend.ts';
import { Dashboard } from '../../reconciler/dashboard/routes.ts';
import { capacityAnswer, healthAnswer, placementAnswer, probesAnswer } from '../../reconciler/dashboard/placement-view.ts';
import { DashboardState } from '../../reconciler/dashboard/state.ts';
import { DEFAULT_DIST } from '../../reconciler/dashboard/static-files.ts';
import { NO_WEBHOOKS, startHttpServer, type WebhookHandler } from '../../reconciler/serve/http-server.ts';
import { ServeLog, type LogFormat } from '../../reconciler/serve/log.ts';
import { ServeMetrics } from '../../reconciler/serve/metrics.ts';
import { ServeLoop } from '../../reconciler/serve/serve-loop.ts';
import { createWebhookReceiver, type WebhookReceiver, type WebhookTrigger } from '../../reconciler/webhooks/receiver.ts';
import { watchedSources } from '../../reconciler/webhooks/secret.ts';
import { parseStackLocation, stackSourceOf } from '../../reconciler/serve/stack-from-git.ts';
import { UsageError } from '../../stacks/errors.ts';
import { loadStackFile } from '../../stacks/load.ts';
import { durationMs, wholeNumber } from '../options.ts';
import type { RunContext } from '../run-context.ts';
import { saveAppliedAddons, stackAddons } from '../addons.ts';
import { stackFileFrom } from '../stack-file.ts';
import { failoverOptions, needsHealth, serveFailover, type FailoverWiring } from './serve-failover.ts';
import { leaseOptions, serveLeases, type LeaseOpts } from './serve-leases.ts';

/** `infra serve`: the long-running reconciler with its HTTP server (probes, metrics, webhooks). */

export const DEFAULT_LISTEN = '127.0.0.1:7979';

interface ServeOpts extends LeaseOpts {
  file?: string;
  stackFrom?: string;
  listen: { host: string; port: number };
  tlsCert?: string;
  tlsKey?: string;
  metricsTokenFile?: string;
  logFormat: LogFormat;
  concurrency: number;
  retryFor: number;
  ui?: boolean;
  uiAuthFile?: string;
  probeInterval: number;
}

export function registerServe(program: Command, ctx: RunContext): void {
  failoverOptions(leaseOptions(program.command('serve')))
    .option('-f, --file <stack>', 'stack file (default: ./stack.yaml from infra init, ./stacks/local.yaml, or the embedded local stack)')
    .option('--stack-from <source:path>', 'serve the stack file at <path> of Git source <source> (defined in -f), reloaded on every push')
    .option('--listen <host:port>', `address of the HTTP server (default ${DEFAULT_LISTEN})`, listenAddress, listenAddress(DEFAULT_LISTEN))
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM; needs --tls-key)')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .option('--metrics-token-file <file>', 'bearer token /metrics requires (required unless listening on loopback)')
    .addOption(new Option('--log-format <format>', 'human lines or one JSON object per line').choices(['human', 'json']).default('human'))
    .option('--concurrency <n>', 'apps reconciled at once (default 4)', wholeNumber(1, 256), 4)
    .option('--retry-for <duration>', 'how long one reconcile retries an unreachable cluster before the queue takes over with backoff (default 30s)', durationMs, 30_000)
    .option('--ui', 'serve the dashboard under /ui/ (needs --ui-auth-file)')
    .option('--ui-auth-file <file>', 'users and roles of the dashboard (YAML, mode 0600; see docs/DASHBOARD.md)')
    .description('reconcile continuously: poll sources, take webhooks, re-check drift; /healthz /readyz /metrics, and the dashboard with --ui')
    .action(async (opts: ServeOpts) => {
      ctx.stopsOnSignal();
      const log = new ServeLog(opts.logFormat, (line) => process.stderr.write(line));
      const stack = await loadStackFile(await stackFileFrom(opts));
      const at = opts.stackFrom ? parseStackLocation(opts.stackFrom) : undefined;
      const stackFrom = at ? { at, source: stackSourceOf(stack, at) } : undefined;
      // Add-on problems (path and line) stop the start (exit 2), as in `infra reconcile`.
      const addons = { initial: await stackAddons(stack), of: stackAddons, applied: saveAppliedAddons };
      const metrics = new ServeMetrics();
      // Secrets are read once, here: a missing one stops the start (exit 2) before anything listens.
      const hooked = await watchedSources(stack.gitops.sources);
      if (opts.ui && !opts.uiAuthFile) throw new UsageError('--ui needs --ui-auth-file', { hint: 'the dashboard never answers without credentials: write the users file (docs/DASHBOARD.md) and pass it' });
      if (opts.uiAuthFile && !opts.ui) throw new UsageError('--ui-auth-file is given without --ui', { hint: 'add --ui to serve the dashboard' });
      const uiAuth = opts.uiAuthFile ? await loadAuthFile(opts.uiAuthFile) : undefined;
      const state = uiAuth ? new DashboardState() : undefined;
      // The add-on apps too: each hashed to a shard like any app, so exactly one replica applies it.
      const leases = serveLeases(opts, metrics, log, () => loop.appNames());
      // Apps with a failover policy: placement decided from cluster health (reconciler/failover/); the dashboard shows that health.
      const failover: FailoverWiring | undefined = needsHealth(stack, state !== undefined)
        ? serveFailover({
            stackName: stack.name,
            stack: () => loop.stack,
            ...(opts.managementKubeconfig ? { managementKubeconfig: opts.managementKubeconfig } : {}),
            loop: () => loop,
            owns: (app) => leases?.ownership.owns(app) ?? true,
            signalOf: (app) => leases?.ownership.signal(app),
            probeIntervalMs: opts.probeInterval,
            metrics,
            log,
            ...(state ? { onHealth: (cluster: string, h: ClusterHealth) => state.setClusterHealth(cluster, healthAnswer(h)) } : {}),
          })
        : undefined;
      const loop: ServeLoop = new ServeLoop({ stack, ...(stackFrom ? { stackFrom } : {}), addons, cacheRoot: cacheDir(), metrics, log, concurrency: opts.concurrency, retryForMs: opts.retryFor, ...(leases ? { ownership: leases.ownership, relay: (t) => leases.relay(t) } : {}), ...(failover ? { placement: failover.controller } : {}), ...(state ? { observer: state, suspended: (app: string) => state.isSuspended(app) } : {}) });
      const dashboard = uiAuth && state ? await startDashboard(state, loop, uiAuth, log, opts.tlsCert !== undefined, failover, opts.probeInterval) : undefined;
      const server = await startHttpServer({
        host: opts.listen.host,
        port: opts.listen.port,
        ...(await tlsFiles(opts)),
        ...(opts.metricsTokenFile ? { metricsToken: await secretFile(opts.metricsTokenFile, '--metrics-token-file', log) } : {}),
        metrics,
        readiness: () => loop.readiness(),
        webhooks: hooked.length > 0 ? webhookRoute(createWebhookReceiver({ sources: hooked, onTrigger: (t) => queuePush(loop, t) }), metrics, log) : NO_WEBHOOKS,
        ...(dashboard ? { ui: (req, res, path) => dashboard.handle(req, res, path) } : {}),
        log,
      });
      log.info(`listening on ${server.url}`, { stack: stack.name, apps: stack.gitops.apps.length, clusters: stack.clusters.length });
      if (dashboard && state) {
        log.info(`dashboard on ${server.url}/ui/`);
        // The last known statuses, from the records in the clusters: shown before the first round ends.
        void seedFromRecords(state, stack, undefined, (cluster, why) => log.warn(`dashboard: cannot read the records: ${why}`, { cluster }), ctx.signal);
      }
      if (!ctx.signal.aborted) {
        await leases?.start();
        await leases?.watchTriggers((t) => loop.watches(t.source) && loop.trigger(t));
        // Stored placements first: a replica taking over applies where its predecessor decided.
        await failover?.start(ctx.signal);
        // The stored health (loaded by start) until the first probe changes it.
        if (state && failover) for (const [cluster, h] of failover.monitor.snapshot()) state.setClusterHealth(cluster, healthAnswer(h));
        await loop.start();
        failover?.controller.start();
        await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
      }
      log.info(`stopping: finishing ${loop.running} running reconcile(s)`);
      await failover?.stop();
      await loop.stop();
      dashboard?.close();
      await server.close();
      leases?.close();
      log.info('stopped');
    });
}

/** The dashboard's routes over `state`, its backend on the real clusters; suspended apps kept in INFRA_HOME/dashboard/. */
async function startDashboard(state: DashboardState, loop: ServeLoop, auth: Awaited<ReturnType<typeof loadAuthFile>>, log: ServeLog, secure: boolean, failover: FailoverWiring | undefined, probeIntervalMs: number): Promise<Dashboard> {
  state.useStack(() => loop.stack);
  const backend = new ServeDashboardBackend({
    state,
    stack: () => loop.stack,
    cacheRoot: cacheDir(),
    serve: { queueApp: (app, reason) => loop.queueApp(app, reason) },
    suspendFile: join(infraHome(), 'dashboard', `${loop.stack.name}.suspended.json`),
    ...(failover
      ? {
          placement: (app: string) => {
            const v = failover.controller.view(app);
            return v ? placementAnswer(v.state, v.explain, Date.now()) : undefined;
          },
          clusterFacts: (cluster: string) => {
            const capacity = failover.capacity.snapshot().get(cluster);
            return { probes: probesAnswer(probeIntervalMs, failover.monitor.snapshot().get(cluster)), ...(capacity ? { capacity: capacityAnswer(capacity) } : {}) };
          },
        }
      : {}),
  });
  await backend.loadSuspended();
  return new Dashboard({ state, auth, backend, log, dist: DEFAULT_DIST, secure });
}

/** A webhook's push, queued when an app (or the served stack) uses its source; false: nothing here does. */
function queuePush(loop: ServeLoop, t: WebhookTrigger): boolean {
  if (!loop.watches(t.source)) return false;
  loop.trigger(t);
  return true;
}

/** The receiver behind `/webhooks/`, each answer counted and logged (the outcome carries no header, body or secret). */
function webhookRoute(receiver: WebhookReceiver, metrics: ServeMetrics, log: ServeLog): WebhookHandler {
  return async (req, res, subpath) => {
    const o = await receiver.handle(req, res, subpath);
    metrics.webhookRequests.inc({ provider: o.provider, result: o.result });
    const fields = { provider: o.provider, source: o.source, status: o.status, result: o.result, ...(o.delivery ? { delivery: o.delivery } : {}), ...(o.revision ? { revision: o.revision } : {}) };
    if (o.status >= 400) log.warn(`webhook refused: ${o.reason ?? o.result}`, fields);
    else log.info(o.result === 'accepted' ? 'webhook accepted: reconcile queued' : `webhook ${o.result}${o.reason ? `: ${o.reason}` : ''}`, fields);
  };
}

function listenAddress(value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:7979 or 0.0.0.0:8443.');
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

async function tlsFiles(opts: ServeOpts): Promise<{ tls?: { cert: Buffer; key: Buffer } }> {
  if (!opts.tlsCert && !opts.tlsKey) return {};
  if (!opts.tlsCert || !opts.tlsKey) throw new UsageError('--tls-cert and --tls-key go together', { hint: 'pass both, or neither for plain HTTP' });
  return { tls: { cert: await readInput(opts.tlsCert, '--tls-cert'), key: await readInput(opts.tlsKey, '--tls-key') } };
}

async function readInput(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** A secret from a file: trimmed and non-empty; a file others can read is said (never its content). */
async function secretFile(file: string, flag: string, log: ServeLog): Promise<string> {
  const text = (await readInput(file, flag)).toString('utf8').trim();
  if (text === '') throw new UsageError(`${flag} ${file} is empty`);
  if (((await stat(file)).mode & 0o077) !== 0) log.warn(`${flag} ${file} is readable by group or others: chmod 600 it (or defaultMode 0400 for a mounted Secret)`);
  return text;
}
