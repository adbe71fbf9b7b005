import { z } from '@hono/zod-openapi';
import { listLowBalanceOrganizations } from '@twofa/db';
import {
  checkReadiness,
  LOW_BALANCE_SERIES_LIMIT,
  METRICS_CHALLENGE,
  metricsAuthorized,
  notReadyProblem,
  READINESS_TIMEOUT_MS,
  recordLowBalances,
  recordQueueDepths,
  recordReadiness,
  withTimeout,
} from '@twofa/observability';
import { problem } from '../lib/errors.ts';
import { createRouter, errors, jsonResponse } from '../lib/openapi.ts';
import type { Services } from '../lib/services.ts';

export async function readiness(services: Pick<Services, 'db' | 'redis' | 'metrics'>) {
  const result = await checkReadiness({
    postgres: () => services.db.sql`select 1`,
    redis: () => services.redis.ping(),
  });
  recordReadiness(services.metrics, result);
  return result;
}

/** Scrape-time gauges: readiness, queue depths and organizations low on credits. */
export async function refreshScrapeGauges(services: Services): Promise<void> {
  await Promise.all([
    readiness(services),
    recordQueueDepths(
      services.metrics,
      [services.sendQueue, services.queueConnections.webhookQueue],
      READINESS_TIMEOUT_MS,
    ),
    withTimeout(
      listLowBalanceOrganizations(services.db.sql, LOW_BALANCE_SERIES_LIMIT),
      READINESS_TIMEOUT_MS,
    ).then(
      (reading) => recordLowBalances(services.metrics, reading),
      // Database away: keep the last reading; /ready says what is down.
      () => {},
    ),
  ]);
}

const Checks = z.object({
  postgres: z.enum(['ok', 'unavailable']),
  redis: z.enum(['ok', 'unavailable']),
});

export const opsRouter = createRouter();

opsRouter.get('/health', (c) => c.json({ status: 'ok' }, 200));

opsRouter.get('/ready', async (c) => {
  const services = c.get('services');
  if (services.lifecycle.draining) {
    // Shutting down: still serving, but no load balancer should send more.
    return c.json(
      {
        type: 'about:blank',
        title: 'Not ready',
        status: 503,
        code: 'not_ready',
        detail: 'Shutting down: finishing in-flight requests.',
        down: [],
        draining: true,
      },
      503,
      { 'content-type': 'application/problem+json' },
    );
  }
  const result = await readiness(services);
  if (result.ready) return c.json({ status: 'ready', checks: result.checks }, 200);
  return c.json(notReadyProblem(result), 503, { 'content-type': 'application/problem+json' });
});

opsRouter.get('/metrics', async (c) => {
  const services = c.get('services');
  if (!metricsAuthorized(services.config.env.METRICS_TOKEN, c.req.header('authorization'))) {
    return problem(
      c,
      'unauthorized',
      'Send the metrics token as Authorization: Bearer <METRICS_TOKEN>.',
      {},
      { 'www-authenticate': METRICS_CHALLENGE },
    );
  }
  await refreshScrapeGauges(services);
  const body = await services.metrics.registry.metrics();
  return c.body(body, 200, { 'content-type': services.metrics.registry.contentType });
});

// These answer outside the zod-validated routes, so they are documented by hand.
// `security: []`: open to anyone (load balancers, probes).
const tags = ['Operations'];
opsRouter.openAPIRegistry.registerComponent('securitySchemes', 'metricsToken', {
  type: 'http',
  scheme: 'bearer',
  description: 'METRICS_TOKEN, when the service sets one',
});
opsRouter.openAPIRegistry.registerComponent('securitySchemes', 'dashboardBasic', {
  type: 'http',
  scheme: 'basic',
  description: 'User `admin`, the platform key (ADMIN_API_KEY) as password',
});
opsRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags,
  security: [],
  summary: 'Liveness: 200 while the process runs',
  responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'Alive') },
});
opsRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/ready',
  operationId: 'getReadiness',
  tags,
  security: [],
  summary:
    'Readiness: Postgres and Redis each answer within a short timeout; 503 while shutting down',
  responses: {
    200: jsonResponse(z.object({ status: z.literal('ready'), checks: Checks }), 'Ready'),
    ...errors(503),
  },
});
opsRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags,
  // Open when METRICS_TOKEN is unset, else the token.
  security: [{}, { metricsToken: [] }],
  summary: 'Prometheus metrics (text exposition format)',
  description:
    'Open unless METRICS_TOKEN is set; then only `Authorization: Bearer <METRICS_TOKEN>` reads it.',
  responses: {
    200: {
      description: 'Metrics',
      content: { 'text/plain': { schema: z.string() } },
    },
    ...errors(401),
  },
});
opsRouter.openAPIRegistry.registerPath({
  method: 'get',
  path: '/admin/queues',
  operationId: 'getQueueDashboard',
  tags,
  security: [{ bearer: [] }, { dashboardBasic: [] }],
  summary: 'Queue dashboard (bull-board): platform key as Bearer, or basic auth admin:<key>',
  responses: {
    200: { description: 'The dashboard page', content: { 'text/html': { schema: z.string() } } },
    ...errors(401),
  },
});
