import { once } from 'node:events';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createQueueConnections,
  isRedisUnavailable,
  type QueueConnections,
} from './connections.ts';

const open: QueueConnections[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const env = { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', QUEUE_PREFIX: 'p' };

describe('createQueueConnections', () => {
  it('on one Redis: the prefix as given, one connection for a producer, two for a worker', async () => {
    const producer = createQueueConnections(env, 'producer');
    open.push(producer);
    expect(producer.redis).toBeInstanceOf(Redis);
    expect(producer.prefix).toBe('p');
    expect(producer.sendQueue.opts.prefix).toBe('p');
    expect(producer.redis.options.enableOfflineQueue).toBe(false);
    // A producer fails fast: it answers once connected, never queues a command before.
    if (producer.redis.status !== 'ready') await once(producer.redis, 'ready');
    expect(await producer.redis.ping()).toBe('PONG');

    const worker = createQueueConnections(env, 'worker');
    open.push(worker);
    expect(worker.workerRedis).toBeInstanceOf(Redis);
    expect(worker.workerRedis).not.toBe(worker.redis);
    expect((worker.redis as Redis).options.maxRetriesPerRequest).toBeNull();
  });

  it('with cluster nodes: an ioredis Cluster and a hash-tagged prefix', () => {
    const errors: string[] = [];
    const cluster = createQueueConnections(
      { ...env, REDIS_CLUSTER_NODES: [{ host: '127.0.0.1', port: 1 }] },
      'worker',
      { logger: { debug: (_obj, msg) => errors.push(msg) } },
    );
    open.push(cluster);
    expect(cluster.redis).toBeInstanceOf(Cluster);
    expect(cluster.workerRedis).toBeInstanceOf(Cluster);
    expect(cluster.prefix).toBe('{p}');
    expect(cluster.sendQueue.opts.prefix).toBe('{p}');
    const options = (cluster.redis as Cluster).options;
    expect(options.redisOptions?.maxRetriesPerRequest).toBeNull();
  });
});

describe('isRedisUnavailable', () => {
  it('recognizes a producer that fails fast and a refused connection, nothing else', () => {
    expect(
      isRedisUnavailable(
        new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      ),
    ).toBe(true);
    expect(isRedisUnavailable(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRedisUnavailable(new Error('ERR syntax error'))).toBe(false);
    expect(isRedisUnavailable(undefined)).toBe(false);
  });
});
