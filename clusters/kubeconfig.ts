import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { KubeconfigInvalidError } from './errors.ts';

/**
 * The parts of a kubeconfig a client needs: server, CA, client certificate or token, for the
 * current context (or a named one). File paths in it are relative to the kubeconfig's folder.
 */

export interface Credentials {
  readonly server: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  /** `tokenFile` (a service account's projected token, rotated by the kubelet): re-read by the client. */
  readonly tokenFile?: string;
  readonly insecure: boolean;
}

interface Named<T> {
  name: string;
  cluster?: T;
  user?: T;
  context?: T;
}

export function readCredentials(path: string, cluster: string, context?: string): Credentials {
  const fail = (why: string) => new KubeconfigInvalidError(cluster, path, why);
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw fail((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  if (doc === null || typeof doc !== 'object') throw fail('not a kubeconfig (expected a YAML mapping)');
  const ctxName = context ?? (doc['current-context'] as string | undefined);
  const ctx = (doc['contexts'] as Named<{ cluster: string; user: string }>[] | undefined)?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw fail(`no context ${ctxName ?? '(current-context unset)'}`);
  const c = (doc['clusters'] as Named<Record<string, string | boolean>>[] | undefined)?.find((x) => x.name === ctx.cluster)?.cluster;
  const u = (doc['users'] as Named<Record<string, string>>[] | undefined)?.find((x) => x.name === ctx.user)?.user ?? {};
  if (!c || typeof c['server'] !== 'string') throw fail(`no server for cluster ${ctx.cluster}`);
  const base = dirname(path);
  const pem = (data: unknown, file: unknown): Buffer | undefined => {
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    if (typeof file !== 'string') return undefined;
    const full = isAbsolute(file) ? file : resolve(base, file);
    try {
      return readFileSync(full);
    } catch (err) {
      throw fail(`cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const ca = pem(c['certificate-authority-data'], c['certificate-authority']);
  const cert = pem(u['client-certificate-data'], u['client-certificate']);
  const key = pem(u['client-key-data'], u['client-key']);
  const token = typeof u['token'] === 'string' ? u['token'] : undefined;
  const tokenFile = typeof u['tokenFile'] === 'string' ? (isAbsolute(u['tokenFile']) ? u['tokenFile'] : resolve(base, u['tokenFile'])) : undefined;
  return {
    server: c['server'],
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(token ? { token } : {}),
    ...(tokenFile && !token ? { tokenFile } : {}),
    insecure: c['insecure-skip-tls-verify'] === true,
  };
}
