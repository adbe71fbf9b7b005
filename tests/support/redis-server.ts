/** A redis-server of a test's own, to kill and restart without touching the shared one. */
import { Redis } from 'ioredis';
import {
  isPortClash,
  type ManagedProcess,
  PortClashError,
  requireCommand,
  sleep,
  spawnManaged,
  startOnFreePort,
  waitUntil,
} from './process.ts';

/**
 * A test Redis keeps nothing on disk and stays in the foreground, as the
 * machine's own does. A replica takes its master's data from the socket into
 * memory (`repl-diskless-load swapdb`) instead of writing a dump.rdb it would
 * load again at its next start, and the master streams it without waiting for
 * more replicas to join (`repl-diskless-sync-delay 0`).
 */
export const EPHEMERAL_REDIS_ARGS = [
  ...['--save', '', '--appendonly', 'no', '--daemonize', 'no'],
  ...['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'],
  ...['--repl-diskless-load', 'swapdb'],
];

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly running: boolean;
  /** The current redis-server process, while it runs. */
  readonly process: ManagedProcess | null;
  /** SIGKILL: the data is gone (no persistence), like a crashed cache. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  flushAll(): Promise<void>;
  /** One command on a connection of its own; the reply as text. */
  command(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * One command on a connection of its own, closed after: the server may have
 * been killed or restarted since the last one. One attempt, no reconnecting.
 */
async function redisCommand(port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  client.on('error', () => {});
  try {
    const [command = '', ...rest] = args;
    return String(await client.call(command, ...rest));
  } finally {
    client.disconnect();
  }
}

/** A redis-server of the test's own, without persistence, on a free port. */
export async function startRedisServer(): Promise<RedisServer> {
  requireCommand('redis-server', 'redis-server');
  let current: ManagedProcess | null = null;

  const launch = async (port: number) => {
    const proc = spawnManaged(
      `redis:${port}`,
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', ...EPHEMERAL_REDIS_ARGS],
      process.env,
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exit) {
        if (isPortClash(proc) || proc.logs.some((l) => l.includes('Address already in use'))) {
          throw new PortClashError(`redis port ${port} taken`);
        }
        throw new Error(`redis-server exited: ${proc.tail()}`);
      }
      try {
        if ((await redisCommand(port, ['PING'], 500)) === 'PONG') break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) {
        await proc.kill();
        throw new Error(`redis-server on ${port} did not start: ${proc.tail()}`);
      }
      await sleep(50);
    }
    current = proc;
    return port;
  };

  const port = await startOnFreePort(launch);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return current !== null && current.exit === null;
    },
    get process() {
      return current;
    },
    async kill() {
      await current?.kill();
      current = null;
    },
    async start() {
      if (current && !current.exit) return;
      // The port was ours a moment ago; retry briefly while the kernel releases it.
      await waitUntil(
        `redis to restart on ${port}`,
        async () => {
          await launch(port);
          return true;
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );
    },
    async flushAll() {
      await redisCommand(port, ['FLUSHALL']);
    },
    command: (...args) => redisCommand(port, args),
    async close() {
      await current?.kill();
      current = null;
    },
  };
}
