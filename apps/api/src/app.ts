import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { challengesRouter, loginsRouter } from './challenges/routes.ts';
import type { AppEnv } from './lib/env.ts';
import { problem } from './lib/errors.ts';
import { errorHandler, requestContext, validationProblem } from './lib/http.ts';
import type { Services } from './lib/services.ts';
import { renderErrorPage, UNAVAILABLE_RETRY_AFTER_SECONDS } from './pages/error-pages.tsx';
import { pagesRouter, registerPageDocs } from './pages/index.ts';
import { appsRouter, createPrompt } from './prompt/index.ts';
import { ADMIN_QUEUES_PATH, adminQueuesRouter } from './routes/admin-queues.ts';
import { auditRouter } from './routes/audit.ts';
import { docsRouter } from './routes/docs.ts';
import { opsRouter } from './routes/ops.ts';
import { organizationsRouter } from './routes/organizations.ts';
import { secondFactorsRouter } from './routes/second-factors.ts';
import { settingsRouter } from './routes/settings.ts';
import { twilioStatusRouter } from './routes/twilio-status.ts';
import { usersRouter } from './routes/users.ts';
import { webhooksApiRouter } from './webhooks/routes.ts';

export const BODY_LIMIT_BYTES = 64 * 1024;
const BODILESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/** Builds the whole HTTP app around injected services; opens nothing itself. */
export function createApp(services: Services) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return validationProblem(c, result.error);
    },
  });
  app.use('*', requestContext(services));
  app.use('*', async (c, next) => {
    // Set before the handler, like x-request-id: headers added afterwards clone the response.
    if (services.lifecycle.draining) c.header('connection', 'close');
    await next();
  });
  // Before the body limit: the provider reads its own bodies from the node request.
  const prompt = createPrompt(services);
  app.use('*', prompt.mount);
  const tooLarge = (c: Context) => problem(c, 'payload_too_large', 'The body is over 64 KiB.');
  const streamedBodyLimit = bodyLimit({ maxSize: BODY_LIMIT_BYTES, onError: tooLarge });
  app.use('*', async (c, next) => {
    // Decided from the headers where they tell: hono's bodyLimit reads the raw
    // body stream, which makes @hono/node-server build a full Request for every
    // call. Node's parser never reads past Content-Length, so trusting it is safe;
    // only chunked bodies need counting as they stream.
    const chunked = c.req.header('transfer-encoding') !== undefined;
    const length = c.req.header('content-length');
    if (!chunked && length !== undefined) {
      return Number(length) > BODY_LIMIT_BYTES ? tooLarge(c) : next();
    }
    if (!chunked && BODILESS.has(c.req.method)) return next();
    return streamedBodyLimit(c, next);
  });
  app.onError(
    errorHandler(async (c) =>
      c.html(await renderErrorPage(c.req.header('accept-language'), 'unavailable'), 503, {
        'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS),
        'cache-control': 'no-store',
      }),
    ),
  );
  app.notFound((c) => problem(c, 'not_found', `No route for ${c.req.method} ${c.req.path}.`));

  app.route('/', opsRouter);
  app.route('/', twilioStatusRouter);
  app.route(ADMIN_QUEUES_PATH, adminQueuesRouter(services));
  for (const router of [
    organizationsRouter,
    settingsRouter,
    usersRouter,
    secondFactorsRouter,
    loginsRouter,
    challengesRouter,
    auditRouter,
    webhooksApiRouter,
    appsRouter,
  ]) {
    app.route('/', router);
  }
  app.route('/', pagesRouter());
  app.route('/', prompt.pages);
  registerPageDocs(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'The platform key (ADMIN_API_KEY) or an organization key',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'SMS two-factor authentication',
      version: '1.0.0',
      description: 'Login second step by SMS code for multi-tenant SaaS.',
    },
    // Relative: wherever this document was fetched from.
    servers: [{ url: '/', description: 'This service' }],
  });
  app.route('/', docsRouter);
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tags: ['Operations'],
    security: [],
    summary: 'This OpenAPI document',
    responses: { 200: { description: 'OpenAPI 3.1 document' } },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/docs',
    operationId: 'getDocsPage',
    tags: ['Operations'],
    security: [],
    summary: 'A browsable page of this document (Swagger UI, served from this service)',
    responses: { 200: { description: 'HTML page' } },
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
