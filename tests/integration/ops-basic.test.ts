import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createHarness, type Harness } from '../support/index.ts';

/** A local port nothing listens on: bound once to find it free, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The API's Redis client connects in the background and, failing fast, does not
 * queue commands meanwhile: until it is connected, /ready rightly says not ready.
 */
async function redisConnected(h: Harness): Promise<void> {
  await h.waitFor(async () => h.services.redis.status === 'ready');
}

describe('with Postgres and Redis up', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ worker: false, env: { DB_POOL_SIZE: '2' } });
    await redisConnected(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('GET /health is 200', async () => {
    const res = await h.request('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /ready is 200 with both checks ok', async () => {
    const res = await h.request('GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ready',
      checks: { postgres: 'ok', redis: 'ok' },
    });
  });

  it('needs no key', async () => {
    expect((await h.request('GET', '/health', { key: null })).status).toBe(200);
    expect((await h.request('GET', '/ready', { key: null })).status).toBe(200);
  });
});

describe("with the API's Redis unreachable", () => {
  let h: Harness;
  beforeAll(async () => {
    const port = await closedPort();
    h = await createHarness({
      worker: false,
      env: { REDIS_URL: `redis://127.0.0.1:${port}`, DB_POOL_SIZE: '2' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('GET /ready is 503 naming redis, and only redis', async () => {
    const res = await h.request('GET', '/ready');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 503,
      checks: { postgres: 'ok', redis: 'unavailable' },
    });
    expect(res.body.detail).toContain('redis');
    expect(res.body.detail).not.toContain('postgres');
  });

  it('GET /health is still 200', async () => {
    const res = await h.request('GET', '/health');
    expect(res.status).toBe(200);
  });
});

describe("with the API's Postgres unreachable", () => {
  let h: Harness;
  beforeAll(async () => {
    const port = await closedPort();
    h = await createHarness({
      worker: false,
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/twofa`, DB_POOL_SIZE: '2' },
    });
    await redisConnected(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('GET /ready is 503 naming postgres, and only postgres', async () => {
    const res = await h.request('GET', '/ready');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 503,
      checks: { postgres: 'unavailable', redis: 'ok' },
    });
    expect(res.body.detail).toContain('postgres');
    expect(res.body.detail).not.toContain('redis');
  });

  it('GET /health is still 200', async () => {
    expect((await h.request('GET', '/health')).status).toBe(200);
  });

  it('a route that needs the database answers 503 database_unavailable, leaking nothing', async () => {
    const res = await h.request('GET', '/v1/organizations/7c9e6679-7425-40de-944b-e07fc1f90ae7', {
      key: ADMIN_KEY,
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('database_unavailable');
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|at .+:\d+:\d+/);
  });
});
