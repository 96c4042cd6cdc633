import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

/**
 * A TCP proxy on loopback between one client and an apiserver (TLS passes through untouched):
 * counts the client's bytes with their time, and can cut the link like a network partition
 * (open connections dropped, new ones accepted and never answered).
 */
export class TcpProxy {
  readonly port: number;
  /** Time (ms) of every chunk the client sent towards the server. */
  readonly sent: { t: number; bytes: number }[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private cutAt: number | undefined;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(target: URL): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  private accept(client: Socket, target: URL): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.cutAt !== undefined) return; // partitioned: the connection hangs
    const upstream = connect(Number(target.port), target.hostname);
    this.sockets.add(upstream);
    upstream.on('close', () => (this.sockets.delete(upstream), client.destroy()));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk: Buffer) => {
      if (this.cutAt !== undefined) return;
      this.sent.push({ t: Date.now(), bytes: chunk.length });
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.cutAt === undefined) client.write(chunk);
    });
  }

  /** Breaks every open connection (as a restarted load balancer would); new ones still pass. Returns how many were broken. */
  reset(): number {
    const n = this.sockets.size;
    for (const s of this.sockets) s.destroy();
    return n;
  }

  /** Partition: from now on nothing passes either way. */
  cut(): number {
    this.cutAt = Date.now();
    for (const s of this.sockets) s.destroy();
    return this.cutAt;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A copy of a kubeconfig whose server is the proxy (same CA and credentials; the apiserver's certificate names 127.0.0.1). */
export function kubeconfigThrough(kubeconfig: string, proxy: TcpProxy, into: string): string {
  const doc = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const c of doc.clusters) {
    const url = new URL(c.cluster.server);
    url.port = String(proxy.port);
    c.cluster.server = url.toString().replace(/\/$/, '');
  }
  writeFileSync(into, stringify(doc), { mode: 0o600 });
  return into;
}

/** The server URL of a kubeconfig's first cluster. */
export function serverOf(kubeconfig: string): URL {
  const doc = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  return new URL(doc.clusters[0]?.cluster.server ?? '');
}
