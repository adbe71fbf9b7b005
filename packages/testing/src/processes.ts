/**
 * Real processes for fault-injection tests: a private redis-server, the API and
 * worker started as child processes, and a TCP proxy in front of Postgres that
 * can be cut to simulate a database restart without touching the shared cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createRedis,
  createSendCodeQueue,
  type Queue,
  type Redis,
  type SendCodeJob,
} from '@twofa/queue';
import { type FakeTwilio, startFakeTwilio } from '@twofa/sms/fake-twilio';
import postgres from 'postgres';
import { createTestDatabase, uniquePrefix } from './database.ts';
import { ADMIN_KEY, testEnv } from './harness.ts';

/** The repository root: the cwd of every child, so `apps/...` paths and tsx resolve. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const MAX_LOG_LINES = 50_000;

/** Every child still running, killed when this process exits however it exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A port nobody listened on a moment ago; a child that loses the race is retried. */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a truthy value, or throws naming what it waited for. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** stdout and stderr, one entry a line, oldest first (capped). */
  readonly logs: string[];
  /** Null while it runs. */
  readonly exit: ExitInfo | null;
  readonly exited: Promise<ExitInfo>;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL if it is still running after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** The parsed JSON log lines (pino), non-JSON lines skipped. */
  jsonLogs(): Record<string, unknown>[];
  tail(lines?: number): string;
}

function spawnManaged(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ManagedProcess {
  installExitHook();
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  live.add(child);
  const logs: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (logs.length >= MAX_LOG_LINES) logs.shift();
        logs.push(line);
      }
    });
    stream?.on('end', () => {
      if (partial) logs.push(partial);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  let exit: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exit = { code, signal };
      resolve(exit);
    });
  });
  const managed: ManagedProcess = {
    name,
    pid: child.pid,
    logs,
    get exit() {
      return exit;
    },
    exited,
    signal(signal) {
      if (!exit) child.kill(signal);
    },
    async kill() {
      if (!exit) child.kill('SIGKILL');
      return exited;
    },
    async stop(timeoutMs = 15_000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
    jsonLogs() {
      const parsed: Record<string, unknown>[] = [];
      for (const line of logs) {
        if (!line.startsWith('{')) continue;
        try {
          parsed.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // a line cut by the cap or a crash
        }
      }
      return parsed;
    },
    tail(lines = 40) {
      return logs.slice(-lines).join('\n');
    },
  };
  return managed;
}

/** GET a local URL; resolves with the status, or rejects when nothing answers. */
export function httpGet(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', timeout: timeoutMs }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitHealthy(proc: ManagedProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit) {
      throw new Error(
        `${proc.name} exited (${JSON.stringify(proc.exit)}) before ${url} answered:\n${proc.tail()}`,
      );
    }
    try {
      const res = await httpGet(url, 1_000);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${proc.name}: ${url} not healthy after ${timeoutMs} ms:\n${proc.tail()}`);
    }
    await sleep(100);
  }
}

const isPortClash = (proc: ManagedProcess) => proc.logs.some((l) => l.includes('EADDRINUSE'));

/** Starts a service on a fresh free port, retrying when another process took the port first. */
async function startOnFreePort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (i >= attempts || !(error instanceof PortClashError)) throw error;
    }
  }
}

/** Another process took the port between freePort() and the child's listen. */
export class PortClashError extends Error {}

// ---------------------------------------------------------------------------
// Redis

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
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
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

// ---------------------------------------------------------------------------
// A TCP proxy that can be cut: a Postgres restart as seen by its clients.

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
  /** Destroys every open connection and refuses new ones (connection refused). */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let cutNow = false;
  let stalled = false;
  const server = createTcpServer((client) => {
    if (cutNow) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
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
      return sockets.size / 2;
    },
    stall() {
      stalled = true;
    },
    async cut() {
      cutNow = true;
      stalled = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
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
      for (const socket of sockets) socket.destroy();
      sockets.clear();
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

// ---------------------------------------------------------------------------
// An HTTP tap: forwards to a target and records every request, to count what a
// fake upstream was asked even when it answered with an error.

export interface TappedRequest {
  method: string;
  path: string;
  body: string;
  /** The upstream's status, or 0 when the caller or upstream went away first. */
  status: number;
  at: number;
}

export interface HttpTap {
  readonly url: string;
  readonly requests: readonly TappedRequest[];
  close(): Promise<void>;
}

export async function startHttpTap(targetUrl: string): Promise<HttpTap> {
  const target = new URL(targetUrl);
  const requests: TappedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry: TappedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        body: body.toString('utf8'),
        status: 0,
        at: Date.now(),
      };
      requests.push(entry);
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
        },
        (upRes) => {
          entry.status = upRes.statusCode ?? 0;
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------
// The API and workers as child processes

export interface ServiceProcess extends ManagedProcess {
  readonly port: number;
  readonly url: string;
}

function nodeArgs(entry: string): string[] {
  return ['--import', 'tsx', entry];
}

async function startService(
  name: string,
  entry: string,
  portVariable: 'PORT' | 'WORKER_METRICS_PORT',
  env: Record<string, string>,
  timeoutMs: number,
  port?: number,
): Promise<ServiceProcess> {
  const launch = async (p: number): Promise<ServiceProcess> => {
    const proc = spawnManaged(`${name}:${p}`, process.execPath, nodeArgs(entry), {
      ...process.env,
      ...env,
      [portVariable]: String(p),
    });
    const url = `http://127.0.0.1:${p}`;
    try {
      await waitHealthy(proc, `${url}/health`, timeoutMs);
      // Another process may have answered on a port we lost the race for.
      await sleep(100);
      if (proc.exit) throw new Error(`${proc.name} exited right after start:\n${proc.tail()}`);
    } catch (error) {
      if (isPortClash(proc)) throw new PortClashError(`${name}: port ${p} taken`);
      throw error;
    }
    return Object.assign(proc, { port: p, url });
  };
  return port === undefined ? startOnFreePort(launch) : launch(port);
}

export interface StartOptions {
  /** Reuse a port (a restart); a fresh free one otherwise. */
  port?: number;
  timeoutMs?: number;
}

/** `node --import tsx apps/api/src/main.ts`, resolved once /health answers. */
export function startApiProcess(
  env: Record<string, string>,
  opts: StartOptions = {},
): Promise<ServiceProcess> {
  return startService(
    'api',
    'apps/api/src/main.ts',
    'PORT',
    { HOST: '127.0.0.1', ...env },
    opts.timeoutMs ?? 60_000,
    opts.port,
  );
}

/** `node --import tsx apps/worker/src/main.ts`, resolved once its metrics server's /health answers. */
export function startWorkerProcess(
  env: Record<string, string>,
  opts: StartOptions = {},
): Promise<ServiceProcess> {
  return startService(
    'worker',
    'apps/worker/src/main.ts',
    'WORKER_METRICS_PORT',
    env,
    opts.timeoutMs ?? 60_000,
    opts.port,
  );
}

/** Keeps every process a test file starts, so afterAll can stop them even after a failure. */
export class ProcessGroup {
  private readonly members = new Set<{ close(): Promise<unknown> }>();

  add<T extends ManagedProcess | { close(): Promise<unknown> }>(member: T): T {
    const close =
      'close' in member ? () => member.close() : () => (member as ManagedProcess).kill();
    this.members.add({ close });
    return member;
  }

  /** Kills everything still running, in parallel; never throws. */
  async closeAll(): Promise<void> {
    const all = [...this.members];
    this.members.clear();
    await Promise.all(all.map((m) => m.close().catch(() => {})));
  }
}

export interface ServiceEnvInput {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  twilioUrl: string;
  /** Where status callbacks point; each carries its send's id either way. */
  publicBaseUrl?: string;
}

/**
 * The environment of an API or worker child: small pools, a fast reconciler,
 * no circuit breaker and rate limits far above any test's load.
 */
export function serviceEnv(
  input: ServiceEnvInput,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...testEnv(input.databaseUrl, input.queuePrefix, input.twilioUrl),
    REDIS_URL: input.redisUrl,
    PUBLIC_BASE_URL: input.publicBaseUrl ?? 'http://127.0.0.1:9',
    LOG_LEVEL: 'info',
    DB_POOL_SIZE: '3',
    WORKER_CONCURRENCY: '10',
    RECONCILE_INTERVAL_MS: '500',
    SHUTDOWN_TIMEOUT_MS: '15000',
    SMS_CIRCUIT_BREAKER: 'off',
    RATE_LIMIT_IP_LOGINS_PER_MINUTE: '1000000',
    RATE_LIMIT_USER_CHALLENGES_PER_HOUR: '1000000',
    RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: '1000000',
    RATE_LIMIT_ORG_SENDS_PER_MINUTE: '1000000',
    RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN: '1000000',
    ...extra,
  };
}

// ---------------------------------------------------------------------------
// Talking to a child API

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One JSON request; a connection failure rejects (the caller decides what that means). */
export async function jsonRequest<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { key?: string | null; body?: unknown; rawBody?: string; timeoutMs?: number } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

// ---------------------------------------------------------------------------
// A whole deployment of child processes around one test database

export interface StackOptions {
  workers?: number;
  /** Extra environment for the API and every worker. */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** Route the children's Postgres connections through a cuttable proxy. */
  postgresProxy?: boolean;
  /** Put an HTTP tap between the children and the fake Twilio. */
  twilioTap?: boolean;
  /** Start the API process (default true). */
  api?: boolean;
}

export interface Stack {
  readonly database: { url: string; name: string; drop(): Promise<void> };
  /** The test's own connection (direct, never through the proxy). */
  readonly sql: postgres.Sql;
  readonly redis: RedisServer;
  readonly twilio: FakeTwilio;
  readonly tap: HttpTap | null;
  readonly pgProxy: TcpProxy | null;
  readonly queuePrefix: string;
  /** The environment every child gets (before per-child extras). */
  readonly env: Record<string, string>;
  api: ServiceProcess | null;
  readonly workers: ServiceProcess[];
  readonly group: ProcessGroup;
  /** The send queue on the private Redis, to pause and resume it around a backlog. */
  sendQueue(): Queue<SendCodeJob>;
  startApi(extra?: Record<string, string>, opts?: StartOptions): Promise<ServiceProcess>;
  startWorker(extra?: Record<string, string>, opts?: StartOptions): Promise<ServiceProcess>;
  /** A request to the current API process. */
  request<T = any>(
    method: string,
    path: string,
    opts?: { key?: string | null; body?: unknown; rawBody?: string; timeoutMs?: number },
  ): Promise<JsonResponse<T>>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const group = new ProcessGroup();
  const database = await createTestDatabase();
  const sql = postgres(database.url, { max: 3, onnotice: () => {} });
  let queue: { queue: Queue<SendCodeJob>; redis: Redis } | null = null;
  const cleanup = async () => {
    if (queue) {
      await queue.queue.close().catch(() => {});
      queue.redis.disconnect();
    }
    await group.closeAll();
    await sql.end({ timeout: 2 }).catch(() => {});
    await database.drop().catch(() => {});
  };
  try {
    const redis = group.add(await startRedisServer());
    const twilio = await startFakeTwilio({ accountSid: FAKE_SID, authToken: FAKE_TOKEN });
    group.add({ close: () => twilio.close() });
    const tap = options.twilioTap ? group.add(await startHttpTap(twilio.url)) : null;
    let databaseUrl = database.url;
    let pgProxy: TcpProxy | null = null;
    if (options.postgresProxy) {
      const target = new URL(database.url);
      pgProxy = group.add(
        await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) }),
      );
      databaseUrl = viaProxy(database.url, pgProxy.port);
    }
    const queuePrefix = uniquePrefix('faults');
    const apiPort = await freePort();
    const env = serviceEnv(
      {
        databaseUrl,
        redisUrl: redis.url,
        queuePrefix,
        twilioUrl: tap?.url ?? twilio.url,
        publicBaseUrl: `http://127.0.0.1:${apiPort}`,
      },
      options.env,
    );
    const stack: Stack = {
      database,
      sql,
      redis,
      twilio,
      tap,
      pgProxy,
      queuePrefix,
      env,
      api: null,
      workers: [],
      group,
      async startApi(extra = {}, opts = {}) {
        const start = (port?: number) =>
          startApiProcess({ ...env, ...extra }, { ...opts, ...(port && { port }) });
        // The API's port is chosen up front (status callbacks name it); should another
        // process take it first, any port will do for a test.
        const api = group.add(
          await start(opts.port ?? apiPort).catch((error: unknown) => {
            if (error instanceof PortClashError && opts.port === undefined) return start();
            throw error;
          }),
        );
        stack.api = api;
        return api;
      },
      async startWorker(extra = {}, opts = {}) {
        const worker = group.add(
          await startWorkerProcess({ ...env, ...options.workerEnv, ...extra }, opts),
        );
        stack.workers.push(worker);
        return worker;
      },
      request(method, path, opts) {
        if (!stack.api) throw new Error('no API process');
        return jsonRequest(stack.api.url, method, path, opts);
      },
      sendQueue() {
        if (!queue) {
          // A worker-role connection waits out a Redis restart instead of failing fast.
          const redisClient = createRedis(redis.url, 'worker');
          redisClient.on('error', () => {});
          queue = { queue: createSendCodeQueue(redisClient, queuePrefix), redis: redisClient };
        }
        return queue.queue;
      },
      close: cleanup,
    };
    await Promise.all([
      options.api === false ? null : stack.startApi(),
      ...Array.from({ length: options.workers ?? 0 }, () => stack.startWorker()),
    ]);
    return stack;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

const FAKE_SID = 'AC00000000000000000000000000000000';
const FAKE_TOKEN = 'fake-twilio-auth-token';

const PHONE_BLOCK = 10_000;
let phoneBlocks = 0;

export interface SeededOrganization {
  id: string;
  apiKey: string;
  /** Users with a phone each, distinct numbers. */
  users: { id: string; phone: string }[];
}

/**
 * An organization with 2FA on, `credits` SMS credits and `users` users with a
 * phone each. The organization goes through the API (so its key is real);
 * the users are inserted in one statement, since hundreds of API calls would
 * only measure user creation.
 */
export async function seedOrganization(
  stack: Stack,
  opts: { users: number; credits: number; name?: string },
): Promise<SeededOrganization> {
  const created = await stack.request('POST', '/v1/organizations', {
    key: ADMIN_KEY,
    body: { name: opts.name ?? 'Fault Clinic' },
  });
  if (created.status !== 201) throw new Error(`create org: ${created.status}`);
  const { id, apiKey } = created.body as { id: string; apiKey: string };
  const settings = await stack.request('PATCH', '/v1/settings/password', {
    key: apiKey,
    body: { twoFactorEnabled: true },
  });
  if (settings.status !== 200) throw new Error(`enable 2FA: ${settings.status}`);
  if (opts.credits > 0) {
    const topUp = await stack.request('POST', `/v1/organizations/${id}/sms-credits`, {
      key: ADMIN_KEY,
      body: { amount: opts.credits },
    });
    if (topUp.status !== 201) throw new Error(`top up: ${topUp.status}`);
  }
  // A number range of this organization's own, so numbers never repeat across organizations.
  if (opts.users > PHONE_BLOCK) throw new Error(`at most ${PHONE_BLOCK} users per organization`);
  const base = 1_000_000 + (phoneBlocks++ % 800) * PHONE_BLOCK;
  const users = await stack.sql<{ id: string; phone: string }[]>`
    insert into users (organization_id, email, phone)
    select ${id}, 'user' || n || '@fault.example', '+35840' || (${base} + n)::text
    from generate_series(1, ${opts.users}) n
    returning id, phone`;
  return { id, apiKey, users: [...users] };
}

export interface StartOutcome {
  userId: string;
  status: number;
  /** The challenge id when the API answered 200 with a challenge. */
  challengeId: string | null;
  code: string | null;
  /** Set when no HTTP answer came back. */
  error: string | null;
}

/** Starts one challenge per user through POST /v1/challenges, `concurrency` at a time. */
export async function startChallenges(
  stack: Stack,
  org: SeededOrganization,
  users: readonly { id: string }[] = org.users,
  { concurrency = 20, pauseMs = 0 }: { concurrency?: number; pauseMs?: number } = {},
): Promise<StartOutcome[]> {
  const outcomes: StartOutcome[] = [];
  let next = 0;
  const lane = async () => {
    for (;;) {
      const user = users[next++];
      if (!user) return;
      try {
        const res = await stack.request('POST', '/v1/challenges', {
          key: org.apiKey,
          body: { userId: user.id, ip: '198.51.100.7' },
          timeoutMs: 15_000,
        });
        outcomes.push({
          userId: user.id,
          status: res.status,
          challengeId: res.body?.challenge?.id ?? null,
          code: res.body?.code ?? null,
          error: null,
        });
      } catch (error) {
        outcomes.push({
          userId: user.id,
          status: 0,
          challengeId: null,
          code: null,
          error: (error as Error).message,
        });
      }
      if (pauseMs) await sleep(pauseMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return outcomes;
}
