import { type App, closeServices, createApp, createServices, type Services } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import type { SmsProvider } from '@twofa/sms';
import { startWorker, type WorkerRuntime } from '@twofa/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureLogs,
  createTestDatabase,
  type JsonResponse,
  jsonRequest,
  readJson,
  startTcpProxy,
  type TcpProxy,
  testEnv,
  uniquePrefix,
} from '../support/index.ts';

// API and worker reach Postgres and Redis through relays the test can freeze:
// a dependency that hangs is what a readiness probe without a timeout gets stuck on.
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let worker: WorkerRuntime;
let services: Services;
let app: App;

const stubSms: SmsProvider = {
  name: 'stub',
  async send() {
    throw new Error('not used');
  },
};

beforeAll(async () => {
  database = await createTestDatabase();
  const pg = new URL(database.url);
  pgProxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
  const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  redisProxy = await startTcpProxy({
    host: redisUrl.hostname,
    port: Number(redisUrl.port || 6379),
  });
  pg.hostname = '127.0.0.1';
  pg.port = String(pgProxy.port);
  redisUrl.hostname = '127.0.0.1';
  redisUrl.port = String(redisProxy.port);
  const config = loadConfig(
    testEnv(pg.toString(), uniquePrefix('ready'), 'http://127.0.0.1:9', {
      REDIS_URL: redisUrl.toString(),
      DB_POOL_SIZE: '2',
      WORKER_CONCURRENCY: '1',
    }),
  );
  worker = await startWorker(config, {
    sms: stubSms,
    metricsPort: 0,
    logger: captureLogs('worker').logger,
    reconcileIntervalMs: 3_600_000,
  });
  services = createServices(config, { logger: captureLogs('api').logger });
  app = createApp(services);
});

afterAll(async () => {
  pgProxy?.thaw();
  redisProxy?.thaw();
  await worker?.close();
  if (services) await closeServices(services);
  await pgProxy?.close();
  await redisProxy?.close();
  await database?.drop();
});

interface Answer {
  status: number;
  type: string | null;
  body: any;
}

// A deadline far above the probe timeout (1 s): an answer at all is what is tested.
const DEADLINE_MS = 15_000;

const answer = (res: JsonResponse): Answer => ({
  status: res.status,
  type: res.headers.get('content-type'),
  body: res.body,
});

async function workerGet(path: string): Promise<Answer> {
  return answer(
    await jsonRequest(`http://127.0.0.1:${worker.port}`, 'GET', path, { timeoutMs: DEADLINE_MS }),
  );
}

async function apiGet(path: string): Promise<Answer> {
  const res = await Promise.race([
    app.request(path),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${path} did not answer`)), DEADLINE_MS).unref(),
    ),
  ]);
  return answer(await readJson(res));
}

async function eventuallyReady(get: (path: string) => Promise<Answer>) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const res = await get('/ready');
    if (res.status === 200) return res;
    if (Date.now() > deadline) throw new Error(`never ready: ${JSON.stringify(res.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('worker health server', () => {
  it('answers /health and /ready on its own port, and 404 elsewhere', async () => {
    expect(worker.port).toBeGreaterThan(0);
    const health = await workerGet('/health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await eventuallyReady(workerGet);
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    expect((await workerGet('/nope')).status).toBe(404);
  });
});

describe.each([
  ['worker', () => workerGet],
  ['api', () => apiGet],
] as const)('%s readiness when a dependency hangs', (_name, getter) => {
  it('answers 503 naming Postgres when it hangs, and recovers', async () => {
    const get = getter();
    await eventuallyReady(get);
    pgProxy.freeze();
    try {
      const res = await get('/ready');
      expect(res.status).toBe(503);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        status: 503,
        code: 'not_ready',
        down: ['postgres'],
        checks: { postgres: 'unavailable', redis: 'ok' },
      });
      expect(res.body.detail).toContain('postgres');
      expect(res.body.detail).not.toContain('redis');
      // Liveness does not depend on the database.
      expect((await get('/health')).status).toBe(200);
    } finally {
      pgProxy.thaw();
    }
    expect((await eventuallyReady(get)).body.checks).toEqual({ postgres: 'ok', redis: 'ok' });
  });

  it('answers 503 naming Redis when it hangs, and recovers', async () => {
    const get = getter();
    await eventuallyReady(get);
    redisProxy.freeze();
    try {
      const res = await get('/ready');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        down: ['redis'],
        checks: { postgres: 'ok', redis: 'unavailable' },
      });
      expect(res.body.detail).toContain('redis');
      expect(res.body.detail).not.toContain('postgres');
    } finally {
      redisProxy.thaw();
    }
    await eventuallyReady(get);
  });

  it('names both when both hang', async () => {
    const get = getter();
    await eventuallyReady(get);
    pgProxy.freeze();
    redisProxy.freeze();
    try {
      const res = await get('/ready');
      expect(res.status).toBe(503);
      expect(res.body.down).toEqual(['postgres', 'redis']);
      expect(res.body.detail).toBe('Unavailable: postgres, redis');
    } finally {
      pgProxy.thaw();
      redisProxy.thaw();
    }
    await eventuallyReady(get);
  });
});
