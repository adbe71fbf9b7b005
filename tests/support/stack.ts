/**
 * A whole deployment as child processes around one test database: a private
 * redis-server, the fake Twilio (optionally behind a tap), the API and workers,
 * and optionally a cuttable proxy in front of Postgres. `withStack()` is the
 * fixture a fault-test file declares once.
 */
import {
  createRedis,
  createSendCodeQueue,
  type Queue,
  type Redis,
  type SendCodeJob,
} from '@twofa/queue';
import { type FakeTwilio, startFakeTwilio } from '@twofa/testkit';
import postgres from 'postgres';
import { createTestDatabase, uniquePrefix } from './database.ts';
import { FAKE_TWILIO } from './env.ts';
import { fileFixture } from './fixture.ts';
import { type JsonResponse, jsonRequest, type RequestOptions } from './http.ts';
import { type HttpTap, startHttpTap } from './http-tap.ts';
import { freePort, PortClashError, ProcessGroup } from './process.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';
import {
  type ServiceProcess,
  type StartOptions,
  serviceEnv,
  startApiProcess,
  startWorkerProcess,
} from './services.ts';
import { startTcpProxy, type TcpProxy, viaProxy } from './tcp-proxy.ts';

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
    opts?: RequestOptions & { timeoutMs?: number },
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
    const twilio = await startFakeTwilio(FAKE_TWILIO);
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

/** How long starting a stack may take: a few tsx boots on a shared machine. */
export const STACK_START_TIMEOUT_MS = 120_000;

/** Starts a stack before this file's tests and closes it after them, even when the start or a test failed. */
export function withStack(options: StackOptions = {}): Stack {
  return fileFixture(
    'withStack()',
    () => startStack(options),
    (stack) => stack.close(),
    STACK_START_TIMEOUT_MS,
  );
}
