import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.ts';

describe('REDIS_CLUSTER_NODES', () => {
  it('parses host:port seed nodes, IPv6 in brackets', () => {
    const { env } = loadConfig({ REDIS_CLUSTER_NODES: 'redis-a:7000, 10.0.0.2:7001,[::1]:7002' });
    expect(env.REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-a', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it('is unset when absent or empty', () => {
    expect(loadConfig({}).env.REDIS_CLUSTER_NODES).toBeUndefined();
    expect(loadConfig({ REDIS_CLUSTER_NODES: ' ' }).env.REDIS_CLUSTER_NODES).toBeUndefined();
  });

  it.each(['redis-a', 'redis-a:', 'redis-a:0', 'redis-a:70000', 'a:1,b'])(
    'refuses %j naming the variable',
    (value) => {
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: value })).toThrow(/REDIS_CLUSTER_NODES: /);
    },
  );
});

describe('WORKER_METRICS_PORT', () => {
  it('stays unset unless given, so a worker can tell the default from a choice', () => {
    expect(loadConfig({}).env.WORKER_METRICS_PORT).toBeUndefined();
    expect(loadConfig({ WORKER_METRICS_PORT: '9500' }).env.WORKER_METRICS_PORT).toBe(9500);
  });
});
