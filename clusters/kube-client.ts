import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { readCredentials } from './kubeconfig.ts';
import { AdmissionWebhookError, ClusterUnreachableError, KubeApiError, KubeconfigInvalidError } from './errors.ts';
import { InfraError } from '../stacks/errors.ts';

/**
 * A lean client for the Kubernetes REST API: one keep-alive TLS agent per cluster, JSON in
 * and out, typed errors. Used where request count and latency matter (apply, prune, health);
 * the server's certificate is always verified.
 */

export interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Return the body as text instead of parsing JSON (metrics, logs). */
  readonly text?: boolean;
}

/** A kubeconfig that would talk to a cluster without verifying it (or in the clear). Its own exit code: 1 means "an app failed". */
export class InsecureKubeconfigError extends InfraError {
  readonly reason = 'InsecureKubeconfig';
  override readonly exitCode = 13;
}

export class KubeClient {
  readonly cluster: string;
  readonly server: URL;
  private readonly agent: Agent;
  private token: string | undefined;
  private readonly tokenFile: { path: string; readAt: number } | undefined;

  constructor(cluster: string, kubeconfigPath: string, options: { maxSockets?: number } = {}) {
    const c = readCredentials(kubeconfigPath, cluster);
    if (c.insecure) {
      throw new InsecureKubeconfigError(`kubeconfig ${kubeconfigPath} disables TLS verification`, {
        where: `cluster ${cluster}`,
        hint: 'give it the cluster CA (certificate-authority-data) instead of insecure-skip-tls-verify',
      });
    }
    this.cluster = cluster;
    this.server = new URL(c.server);
    this.token = c.token;
    if (c.tokenFile) {
      this.tokenFile = { path: c.tokenFile, readAt: 0 };
      this.refreshToken();
    }
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.maxSockets ?? 32,
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.cert ? { cert: c.cert } : {}),
      ...(c.key ? { key: c.key } : {}),
      rejectUnauthorized: true,
    });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    // Fencing: no request leaves on an aborted signal (a replica that lost its shard Lease).
    options.signal?.throwIfAborted();
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    this.refreshToken();
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    return new Promise<T>((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, headers, signal: options.signal, timeout: options.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new ClusterUnreachableError(this.cluster, `${method} ${url.pathname}: ${err.message}`, err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try {
              resolve((options.text ? text : text ? JSON.parse(text) : undefined) as T);
            } catch (err) {
              reject(new KubeApiError(this.cluster, status, 'InvalidResponse', `${method} ${url.pathname}: response is not JSON (${(err as Error).message})`));
            }
            return;
          }
          let reason = 'Unknown';
          let message = text.slice(0, 500);
          try {
            const s = JSON.parse(text) as { reason?: string; message?: string };
            reason = s.reason ?? reason;
            message = s.message ?? message;
          } catch {
            // not a Status object
          }
          reject(isWebhookFailure(status, message) ? new AdmissionWebhookError(this.cluster, status, reason, message) : new KubeApiError(this.cluster, status, reason, message));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 30_000} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'AbortError') reject(err);
        else reject(new ClusterUnreachableError(this.cluster, `${method} ${url.pathname}: ${err.code ?? err.message}`, err));
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /**
   * A streaming GET (a watch): each newline-delimited JSON line of the body goes to `onLine` as
   * it arrives. Resolves when the server ends the response; a non-2xx answer rejects with
   * KubeApiError (410 Gone included), a broken connection with ClusterUnreachableError.
   */
  stream(path: string, options: { readonly query?: Readonly<Record<string, string | undefined>>; readonly signal?: AbortSignal; readonly idleTimeoutMs?: number }, onLine: (line: unknown) => void): Promise<void> {
    options.signal?.throwIfAborted();
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    this.refreshToken();
    const headers: Record<string, string> = { Accept: 'application/json', ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) };
    return new Promise<void>((resolve, reject) => {
      const req = request(url, { method: 'GET', agent: this.agent, headers, signal: options.signal, timeout: options.idleTimeoutMs ?? 60_000 }, (res) => {
        const status = res.statusCode ?? 0;
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          if (status < 200 || status >= 300) return;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (!line) continue;
            try {
              onLine(JSON.parse(line));
            } catch (err) {
              req.destroy(new Error(`watch line is not JSON or could not be handled: ${(err as Error).message}`));
              return;
            }
          }
        });
        res.on('error', (err) => reject(new ClusterUnreachableError(this.cluster, `GET ${url.pathname} (watch): ${err.message}`, err)));
        res.on('end', () => {
          if (status >= 200 && status < 300) return resolve();
          let reason = 'Unknown';
          let message = buffered.slice(0, 500);
          try {
            const s = JSON.parse(buffered) as { reason?: string; message?: string };
            reason = s.reason ?? reason;
            message = s.message ?? message;
          } catch {
            // not a Status object
          }
          reject(new KubeApiError(this.cluster, status, reason, message));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`watch idle for ${options.idleTimeoutMs ?? 60_000} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'AbortError') reject(err);
        else reject(new ClusterUnreachableError(this.cluster, `GET ${url.pathname} (watch): ${err.code ?? err.message}`, err));
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** A token file is read again once a minute: the kubelet rotates projected service account tokens. */
  private refreshToken(): void {
    const f = this.tokenFile;
    if (!f || Date.now() - f.readAt < 60_000) return;
    try {
      this.token = readFileSync(f.path, 'utf8').trim();
      f.readAt = Date.now();
    } catch (err) {
      throw new KubeconfigInvalidError(this.cluster, f.path, `cannot read tokenFile: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

/** The apiserver could not get an answer from an admission webhook (not: the webhook said no). */
function isWebhookFailure(status: number, message: string): boolean {
  return status >= 500 && /failed calling webhook/i.test(message);
}

/** True for failures worth retrying later: unreachable, overloaded, or server-side errors (a webhook with no backend included). */
export function isTransient(err: unknown): boolean {
  if (err instanceof ClusterUnreachableError) return true;
  if (err instanceof KubeApiError) return err.status === 429 || (err.status >= 500 && !isSchemaError(err));
  return false;
}

/**
 * Server-side apply reports a manifest that does not fit the schema as a 500 ("failed to
 * create typed patch object ... field not declared in schema"): that is bad input, not an outage.
 */
export function isSchemaError(err: KubeApiError): boolean {
  return /failed to create typed patch object|not declared in schema|unknown field/i.test(err.message);
}
