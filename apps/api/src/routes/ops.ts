import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import type { Services } from '../lib/services.ts';

const CHECK_TIMEOUT_MS = 1_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export async function readiness(services: Pick<Services, 'db' | 'redis'>) {
  const check = async (fn: () => Promise<unknown>) => {
    try {
      await withTimeout(fn(), CHECK_TIMEOUT_MS);
      return 'ok' as const;
    } catch {
      return 'unavailable' as const;
    }
  };
  const [postgres, redis] = await Promise.all([
    check(() => services.db.sql`select 1`),
    check(() => services.redis.ping()),
  ]);
  return { postgres, redis, ready: postgres === 'ok' && redis === 'ok' };
}

export async function refreshQueueGauges(services: Services): Promise<void> {
  try {
    const counts = await withTimeout(
      services.sendQueue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'failed',
        'completed',
        'prioritized',
      ),
      CHECK_TIMEOUT_MS,
    );
    for (const [state, value] of Object.entries(counts)) {
      services.metrics.queueDepth.set({ queue: services.sendQueue.name, state }, value);
    }
  } catch {
    // Redis away: keep the last known values; /ready says what is down.
  }
}

export const opsRouter = new Hono<AppEnv>();

opsRouter.get('/health', (c) => c.json({ status: 'ok' }, 200));

opsRouter.get('/ready', async (c) => {
  const result = await readiness(c.get('services'));
  if (result.ready) return c.json({ status: 'ready', checks: result }, 200);
  const down = (['postgres', 'redis'] as const).filter((name) => result[name] !== 'ok');
  return c.json(
    {
      type: 'about:blank',
      title: 'Not ready',
      status: 503,
      code: 'not_ready',
      detail: `Unavailable: ${down.join(', ')}`,
      checks: result,
    },
    503,
    { 'content-type': 'application/problem+json' },
  );
});

opsRouter.get('/metrics', async (c) => {
  const services = c.get('services');
  await refreshQueueGauges(services);
  const body = await services.metrics.registry.metrics();
  return c.body(body, 200, { 'content-type': services.metrics.registry.contentType });
});
