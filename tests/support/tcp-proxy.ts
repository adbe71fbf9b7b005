/**
 * A TCP relay in front of a real server (Postgres, Redis) that a test can
 * break in the ways its clients see: refused (cut), hung both ways (freeze),
 * or answers lost while statements still commit (stall). The shared servers
 * are never touched.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { waitUntil } from './process.ts';

export interface TcpProxy {
  readonly port: number;
  readonly cutNow: boolean;
  /** Connections currently piped through. */
  readonly openConnections: number;
  /**
   * Keeps forwarding what clients send but drops every answer: statements reach
   * Postgres and commit while their callers never hear back (until cut()).
   */
  stall(): void;
  /** Stops passing bytes both ways; connections stay open (and new ones are taken), so callers hang. */
  freeze(): void;
  /** Passes bytes again after freeze(), what was held first. */
  thaw(): void;
  /** Destroys every open connection and refuses new ones (connection refused). */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

function link({ client, upstream }: Pair): void {
  client.pipe(upstream);
  upstream.resume();
}

function unlink({ client, upstream }: Pair): void {
  client.unpipe(upstream);
  client.pause();
  upstream.pause();
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let cutNow = false;
  let stalled = false;
  let frozen = false;
  const destroyAll = () => {
    for (const { client, upstream } of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  const server = createServer((client) => {
    if (cutNow) {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: connect(target.port, target.host) };
    const { upstream } = pair;
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    for (const socket of [client, upstream]) socket.on('error', drop).on('close', drop);
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
    if (frozen) unlink(pair);
    else link(pair);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    port,
    get cutNow() {
      return cutNow;
    },
    get openConnections() {
      return pairs.size;
    },
    stall() {
      stalled = true;
    },
    freeze() {
      frozen = true;
      for (const pair of pairs) unlink(pair);
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) link(pair);
    },
    async cut() {
      cutNow = true;
      stalled = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      destroyAll();
      await closed;
    },
    async restore() {
      if (!cutNow) return;
      await waitUntil(
        `proxy to listen again on ${port}`,
        async () => {
          await listen(port);
          return true;
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      cutNow = false;
    },
    async close() {
      cutNow = true;
      destroyAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The same database URL, pointed at a proxy on this host. */
export function viaProxy(databaseUrl: string, proxyPort: number): string {
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(proxyPort);
  return url.toString();
}
