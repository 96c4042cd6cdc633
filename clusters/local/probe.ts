import { request } from 'node:https';

export interface TlsClientFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * GETs an https URL with a client certificate, verifying the server against `ca`.
 * Returns the status and body, or undefined when nothing answers (not up yet).
 */
export function httpsGet(url: string, tls: TlsClientFiles, timeoutMs = 2_000): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { ca: tls.ca, cert: tls.cert, key: tls.key, timeout: timeoutMs, rejectUnauthorized: true }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
