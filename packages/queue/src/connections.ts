import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis';
import { createSendCodeQueue, type Queue, type SendCodeJob } from './send-code.ts';
import { createWebhookDeliveryQueue, type WebhookDeliveryJob } from './webhook-delivery.ts';

/** A single Redis or a Redis Cluster: BullMQ and the rate limiter take either. */
export type RedisConnection = Redis | Cluster;

export type RedisRole = 'producer' | 'worker';

/** Where the connections go and how jobs are named: the environment's fields, as parsed by @twofa/config. */
export interface QueueConnectionEnv {
  REDIS_URL: string;
  /** When set, a Redis Cluster is used instead of REDIS_URL. */
  REDIS_CLUSTER_NODES?: readonly ClusterNode[] | undefined;
  QUEUE_PREFIX: string;
  SEND_RETRY_BASE_DELAY_MS?: number | undefined;
}

/** Whatever logs connection errors; the listener also keeps them from crashing the process. */
export interface ConnectionErrorLogger {
  debug(obj: object, msg: string): void;
}

export interface QueueConnections {
  /** For commands: enqueueing, readiness pings, counters. */
  redis: RedisConnection;
  sendQueue: Queue<SendCodeJob>;
  webhookQueue: Queue<WebhookDeliveryJob>;
  /**
   * The BullMQ key prefix in use: QUEUE_PREFIX, or `{QUEUE_PREFIX}` on a cluster,
   * whose hash tag keeps all of a queue's keys in one slot as its scripts require.
   */
  prefix: string;
  close(): Promise<void>;
}

export interface WorkerQueueConnections extends QueueConnections {
  /** A connection of its own for the BullMQ Worker, whose blocking reads would stall other commands. */
  workerRedis: RedisConnection;
}

const COMMON: RedisOptions = {
  connectTimeout: 2_000,
  lazyConnect: false,
};

const reconnectDelay = (times: number) => Math.min(times * 200, 2_000);

/**
 * Producers fail fast so the API can answer at once when Redis is away;
 * workers wait for Redis as long as it takes (BullMQ requires
 * maxRetriesPerRequest: null for blocking commands).
 */
function roleOptions(role: RedisRole): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null }
    : { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 };
}

/** One Redis connection with the role's options; `createQueueConnections` is what the services use. */
export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    ...COMMON,
    retryStrategy: reconnectDelay,
    ...roleOptions(role),
    ...extra,
  });
}

function createCluster(nodes: readonly ClusterNode[], role: RedisRole): Cluster {
  const { enableOfflineQueue, ...perNode } = roleOptions(role);
  return new Cluster([...nodes], {
    clusterRetryStrategy: reconnectDelay,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    redisOptions: { ...COMMON, ...perNode },
  });
}

/** The BullMQ prefix for QUEUE_PREFIX: hash-tagged on a cluster (`{twofa}`), as is otherwise. */
export function queuePrefix(env: Pick<QueueConnectionEnv, 'QUEUE_PREFIX' | 'REDIS_CLUSTER_NODES'>) {
  return env.REDIS_CLUSTER_NODES?.length ? `{${env.QUEUE_PREFIX}}` : env.QUEUE_PREFIX;
}

/**
 * Every process's Redis side, built one way for API, worker and CLI: the
 * connection(s) with the role's options, the send queue with its default job
 * options, and error listeners, so a Redis outage is logged, not a crash.
 */
export function createQueueConnections(
  env: QueueConnectionEnv,
  role: 'worker',
  options?: { logger?: ConnectionErrorLogger },
): WorkerQueueConnections;
export function createQueueConnections(
  env: QueueConnectionEnv,
  role: 'producer',
  options?: { logger?: ConnectionErrorLogger },
): QueueConnections;
export function createQueueConnections(
  env: QueueConnectionEnv,
  role: RedisRole,
  options: { logger?: ConnectionErrorLogger } = {},
): QueueConnections | WorkerQueueConnections {
  const logError = (what: string) => (error: Error) =>
    options.logger?.debug({ err: error.message }, `${what} error`);
  const connect = () => {
    const nodes = env.REDIS_CLUSTER_NODES;
    const connection = nodes?.length
      ? createCluster(nodes, role)
      : createRedis(env.REDIS_URL, role);
    connection.on('error', logError('redis connection'));
    return connection;
  };
  const prefix = queuePrefix(env);
  const redis = connect();
  const sendQueue = createSendCodeQueue(redis, prefix, {
    retryBaseDelayMs: env.SEND_RETRY_BASE_DELAY_MS,
  });
  sendQueue.on('error', logError('queue'));
  const webhookQueue = createWebhookDeliveryQueue(redis, prefix);
  webhookQueue.on('error', logError('queue'));
  // BullMQ does not close a connection it was handed: close() does.
  const workerRedis = role === 'worker' ? connect() : null;
  const close = async () => {
    await sendQueue.close().catch(() => {});
    await webhookQueue.close().catch(() => {});
    workerRedis?.disconnect();
    redis.disconnect();
  };
  return workerRedis
    ? { redis, workerRedis, sendQueue, webhookQueue, prefix, close }
    : { redis, sendQueue, webhookQueue, prefix, close };
}

/**
 * An error that means Redis is not reachable (as `isDatabaseUnavailable` is for
 * Postgres): a producer's fail-fast answer, a closed or refused connection.
 */
export function isRedisUnavailable(error: unknown): boolean {
  const message = (error as Error)?.message ?? '';
  return (
    message.includes("Stream isn't writeable") ||
    message.includes('enableOfflineQueue') ||
    message.includes('Connection is closed') ||
    (error as { code?: string })?.code === 'ECONNREFUSED'
  );
}
