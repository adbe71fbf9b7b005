/** A redis-server of a test's own, to kill and restart without touching the shared one. */
import { connect } from 'node:net';
import {
  isPortClash,
  type ManagedProcess,
  PortClashError,
  sleep,
  spawnManaged,
  startOnFreePort,
  waitUntil,
} from './process.ts';

/** A test Redis keeps nothing on disk and stays in the foreground, as the machine's own does. */
export const EPHEMERAL_REDIS_ARGS = ['--save', '', '--appendonly', 'no', '--daemonize', 'no'];

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
  /** Runs one command through redis-cli-free RESP over a raw socket. */
  command(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

/** Sends one RESP command and returns the first reply line (enough for PING/FLUSHALL/DBSIZE). */
function respCommand(port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => socket.destroy(new Error('redis command timeout')), timeoutMs);
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      const parts = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
      socket.write(`*${args.length}\r\n${parts}`);
    });
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.end();
        const line = reply.slice(0, end);
        if (line.startsWith('-')) reject(new Error(line.slice(1)));
        else resolve(line.replace(/^[+:$]/, ''));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A redis-server of the test's own, without persistence, on a free port. */
export async function startRedisServer(): Promise<RedisServer> {
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
        if ((await respCommand(port, ['PING'], 500)) === 'PONG') break;
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
      await respCommand(port, ['FLUSHALL']);
    },
    command: (...args) => respCommand(port, args),
    async close() {
      await current?.kill();
      current = null;
    },
  };
}
