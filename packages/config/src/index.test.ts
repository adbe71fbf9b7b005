import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadConfigOrExit } from './index.ts';

const SECRETS = {
  ADMIN_API_KEY: 'a-platform-key-0123456789',
  APP_SECRET: 'an-app-secret-0123456789abcdef',
};

describe('NODE_ENV and the fixed development secrets', () => {
  it.each(['development', 'test'])(
    'NODE_ENV=%s runs on the fixed secrets, with warnings',
    (env) => {
      const config = loadConfig({ NODE_ENV: env });
      expect(config.adminApiKey).toBe('dev-admin-key');
      expect(config.appSecret.length).toBeGreaterThanOrEqual(16);
      expect(config.warnings.join('\n')).toMatch(/ADMIN_API_KEY/);
      expect(config.warnings.join('\n')).toMatch(/APP_SECRET/);
    },
  );

  it.each([
    ['unset', {}],
    ['empty', { NODE_ENV: '' }],
    ['production', { NODE_ENV: 'production' }],
    ['staging', { NODE_ENV: 'staging' }],
    ['Development (not the exact word)', { NODE_ENV: 'Development' }],
  ])('NODE_ENV %s refuses to start without both secrets, naming each', (_label, env) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/ADMIN_API_KEY: required/);
    expect(message).toMatch(/APP_SECRET: required/);
    // Only one missing: only that one is named.
    expect(() => loadConfig({ ...env, ADMIN_API_KEY: SECRETS.ADMIN_API_KEY })).toThrow(
      /APP_SECRET: required/,
    );
    expect(() => loadConfig({ ...env, ADMIN_API_KEY: SECRETS.ADMIN_API_KEY })).not.toThrow(
      /ADMIN_API_KEY/,
    );
    expect(() => loadConfig({ ...env, APP_SECRET: SECRETS.APP_SECRET })).toThrow(
      /ADMIN_API_KEY: required/,
    );
  });

  it('starts outside development when both secrets are given, and uses them', () => {
    for (const env of [{}, { NODE_ENV: 'staging' }, { NODE_ENV: 'production' }]) {
      const config = loadConfig({ ...env, ...SECRETS });
      expect(config.adminApiKey).toBe(SECRETS.ADMIN_API_KEY);
      expect(config.appSecret).toBe(SECRETS.APP_SECRET);
      expect(config.warnings).toEqual([]);
    }
  });

  it('still refuses the console provider in production', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'production', ...SECRETS, SMS_PROVIDER: 'console' }),
    ).toThrow(/SMS_PROVIDER/);
  });
});

describe('loadConfigOrExit', () => {
  it('prints the message, no stack, and exits non-zero on a bad configuration', () => {
    let written = '';
    let code: number | undefined;
    expect(() =>
      loadConfigOrExit(
        {},
        (c) => {
          code = c;
          throw new Error('exited');
        },
        (text) => {
          written += text;
        },
      ),
    ).toThrow('exited');
    expect(code).toBeGreaterThan(0);
    expect(written).toMatch(/^Invalid configuration:\n/);
    expect(written).toMatch(/ADMIN_API_KEY/);
    expect(written).not.toMatch(/\n\s+at /);
  });

  it('returns the configuration when it is good', () => {
    const exit = () => {
      throw new Error('must not exit');
    };
    expect(loadConfigOrExit({ NODE_ENV: 'test' }, exit).adminApiKey).toBe('dev-admin-key');
  });
});

describe('REDIS_CLUSTER_NODES', () => {
  it('parses host:port seed nodes, IPv6 in brackets', () => {
    const { env } = loadConfig({
      NODE_ENV: 'test',
      REDIS_CLUSTER_NODES: 'redis-a:7000, 10.0.0.2:7001,[::1]:7002',
    });
    expect(env.REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-a', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it('is unset when absent or empty', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).env.REDIS_CLUSTER_NODES).toBeUndefined();
    expect(
      loadConfig({ NODE_ENV: 'test', REDIS_CLUSTER_NODES: ' ' }).env.REDIS_CLUSTER_NODES,
    ).toBeUndefined();
  });

  it.each(['redis-a', 'redis-a:', 'redis-a:0', 'redis-a:70000', 'a:1,b'])(
    'refuses %j naming the variable',
    (value) => {
      expect(() => loadConfig({ NODE_ENV: 'test', REDIS_CLUSTER_NODES: value })).toThrow(
        /REDIS_CLUSTER_NODES: /,
      );
    },
  );
});

describe('WORKER_METRICS_PORT', () => {
  it('stays unset unless given, so a worker can tell the default from a choice', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).env.WORKER_METRICS_PORT).toBeUndefined();
    expect(
      loadConfig({ NODE_ENV: 'test', WORKER_METRICS_PORT: '9500' }).env.WORKER_METRICS_PORT,
    ).toBe(9500);
  });
});

describe('SHUTDOWN_DRAIN_MS', () => {
  it('defaults to 0: the listener closes at once', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).env.SHUTDOWN_DRAIN_MS).toBe(0);
  });

  it('must end before the shutdown deadline', () => {
    expect(
      loadConfig({ NODE_ENV: 'test', SHUTDOWN_DRAIN_MS: '5000', SHUTDOWN_TIMEOUT_MS: '20000' }).env
        .SHUTDOWN_DRAIN_MS,
    ).toBe(5000);
    expect(() =>
      loadConfig({ NODE_ENV: 'test', SHUTDOWN_DRAIN_MS: '20000', SHUTDOWN_TIMEOUT_MS: '20000' }),
    ).toThrow(/SHUTDOWN_DRAIN_MS/);
    expect(() => loadConfig({ NODE_ENV: 'test', SHUTDOWN_DRAIN_MS: '-1' })).toThrow(
      /SHUTDOWN_DRAIN_MS/,
    );
  });
});

describe('CHALLENGE_RETENTION_DAYS', () => {
  it('keeps finished challenges 90 days unless told otherwise', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).env.CHALLENGE_RETENTION_DAYS).toBe(90);
    expect(
      loadConfig({ NODE_ENV: 'test', CHALLENGE_RETENTION_DAYS: '30' }).env.CHALLENGE_RETENTION_DAYS,
    ).toBe(30);
    expect(
      loadConfig({ NODE_ENV: 'test', CHALLENGE_RETENTION_DAYS: '1' }).env.CHALLENGE_RETENTION_DAYS,
    ).toBe(1);
  });

  it.each(['0', '-5', '1.5', 'ninety', '', '36501'])('refuses %j naming the variable', (value) => {
    expect(() => loadConfig({ NODE_ENV: 'test', CHALLENGE_RETENTION_DAYS: value })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ NODE_ENV: 'test', CHALLENGE_RETENTION_DAYS: value })).toThrow(
      /CHALLENGE_RETENTION_DAYS: /,
    );
  });
});
