import { z } from '@hono/zod-openapi';
import { WEBHOOK_EVENT_TYPES } from '@twofa/core';
import { getWebhook, listDeliveries, listWebhooks } from '@twofa/db';
import { notFound } from '../lib/errors.ts';
import { organizationKeyActor, parseId } from '../lib/http.ts';
import { createRouter, errors, IdParam, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { CursorQuery, readPage } from '../lib/pagination.ts';
import {
  addWebhook,
  removeWebhook,
  sendTestEvent,
  updateWebhook,
  webhookJson,
} from './use-cases.ts';

const tags = ['Webhooks'];
const WebhookParams = IdParam('webhookId');

const EventType = z.enum(WEBHOOK_EVENT_TYPES);

const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()).openapi({ description: 'Event types it gets; empty means all' }),
    createdAt: z.string(),
    enabled: z.boolean().openapi({
      description: 'Whether it gets events: false once disabled (`disabledAt` says when)',
    }),
    disabledAt: z
      .string()
      .nullable()
      .openapi({ description: 'Set when no delivery succeeded for 3 days; it gets no events' }),
    disabledReason: z.string().nullable().openapi({ example: 'consecutive_failures' }),
    failingSince: z
      .string()
      .nullable()
      .openapi({ description: 'The first failed delivery since the last success' }),
  })
  .openapi('Webhook');

const Delivery = z
  .object({
    id: z.string(),
    eventId: z.string().openapi({ description: 'The webhook-id header: the same on every retry' }),
    type: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi('WebhookDelivery');

const postRoute = orgRoute({
  method: 'post',
  path: '/v1/webhooks',
  tags,
  operationId: 'createWebhook',
  summary: 'Subscribe a URL to the organization’s events',
  description:
    'Events are POSTed as JSON, signed per Standard Webhooks with the secret answered here (shown once). The URL must be https and its host public, or it is 422 invalid_webhook_url (WEBHOOK_ALLOW_PRIVATE_TARGETS=true lifts both).',
  request: {
    body: jsonBody(
      z.object({
        url: z.string().min(1),
        events: z
          .array(EventType)
          .max(WEBHOOK_EVENT_TYPES.length)
          .optional()
          .openapi({ description: 'Absent or empty: every event type' }),
      }),
    ),
  },
  responses: {
    201: jsonResponse(Webhook.extend({ secret: z.string() }), 'Created; the secret is shown once'),
    ...errors(400, 422),
  },
});

const listRoute = orgRoute({
  method: 'get',
  path: '/v1/webhooks',
  tags,
  operationId: 'listWebhooks',
  summary: 'The organization’s webhooks',
  responses: { 200: jsonResponse(z.object({ webhooks: z.array(Webhook) }), 'Oldest first') },
});

const patchRoute = orgRoute({
  method: 'patch',
  path: '/v1/webhooks/{webhookId}',
  tags,
  operationId: 'updateWebhook',
  summary: 'Turn a webhook on again (after it was disabled) or off',
  description:
    '`enabled: true` re-enables a disabled webhook once its receiver works: `disabledAt`, `disabledReason` and `failingSince` are cleared (a fresh 3-day window) and it gets events from now on (none were recorded while it was off); its target is checked again as on creation (422 invalid_webhook_url). `enabled: false` disables it (`disabledReason: "disabled_by_request"`) and fails its pending deliveries. Audit event webhook_updated.',
  request: {
    params: WebhookParams,
    body: jsonBody(z.object({ enabled: z.boolean() })),
  },
  responses: {
    200: jsonResponse(Webhook, 'The webhook as it is now'),
    ...errors(400, 404, 422),
  },
});

const deleteRoute = orgRoute({
  method: 'delete',
  path: '/v1/webhooks/{webhookId}',
  tags,
  operationId: 'deleteWebhook',
  summary: 'Delete a webhook and its delivery log',
  request: { params: WebhookParams },
  responses: { 204: { description: 'Deleted' }, ...errors(404) },
});

const deliveriesRoute = orgRoute({
  method: 'get',
  path: '/v1/webhooks/{webhookId}/deliveries',
  tags,
  operationId: 'listWebhookDeliveries',
  summary: 'A webhook’s delivery log, newest first',
  request: {
    params: WebhookParams,
    query: CursorQuery,
  },
  responses: {
    200: jsonResponse(
      z.object({ deliveries: z.array(Delivery), nextCursor: z.string().nullable() }),
      'Newest first',
    ),
    ...errors(400, 404),
  },
});

const testRoute = orgRoute({
  method: 'post',
  path: '/v1/webhooks/{webhookId}/test',
  tags,
  operationId: 'sendWebhookTestEvent',
  summary: 'Send a webhook_test event to this webhook alone',
  request: { params: WebhookParams },
  responses: {
    202: jsonResponse(
      z.object({ deliveryId: z.string(), eventId: z.string() }),
      'Queued; see its delivery log',
    ),
    ...errors(404),
  },
});

export const webhooksApiRouter = createRouter();

webhooksApiRouter.openapi(postRoute, async (c) => {
  const body = c.req.valid('json');
  const { webhook, secret } = await addWebhook(
    c.get('services'),
    c.get('organizationId'),
    body,
    organizationKeyActor(c),
  );
  return c.json({ ...webhookJson(webhook), secret }, 201);
});

webhooksApiRouter.openapi(listRoute, async (c) => {
  const rows = await listWebhooks(c.get('services').db.sql, c.get('organizationId'));
  return c.json({ webhooks: rows.map(webhookJson) }, 200);
});

webhooksApiRouter.openapi(patchRoute, async (c) => {
  const id = parseId(c.req.valid('param').webhookId, 'Webhook');
  const webhook = await updateWebhook(
    c.get('services'),
    c.get('organizationId'),
    id,
    c.req.valid('json'),
    organizationKeyActor(c),
  );
  return c.json(webhookJson(webhook), 200);
});

webhooksApiRouter.openapi(deleteRoute, async (c) => {
  const id = parseId(c.req.valid('param').webhookId, 'Webhook');
  await removeWebhook(c.get('services'), c.get('organizationId'), id, organizationKeyActor(c));
  return c.body(null, 204);
});

webhooksApiRouter.openapi(deliveriesRoute, async (c) => {
  const id = parseId(c.req.valid('param').webhookId, 'Webhook');
  const sql = c.get('services').db.sql;
  const organizationId = c.get('organizationId');
  if (!(await getWebhook(sql, organizationId, id))) throw notFound('Webhook');
  const { page, nextCursor } = await readPage(c.req.valid('query'), (options) =>
    listDeliveries(sql, organizationId, id, options),
  );
  return c.json(
    {
      deliveries: page.map((d) => ({
        ...d,
        nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
        createdAt: d.createdAt.toISOString(),
        deliveredAt: d.deliveredAt?.toISOString() ?? null,
      })),
      nextCursor,
    },
    200,
  );
});

webhooksApiRouter.openapi(testRoute, async (c) => {
  const id = parseId(c.req.valid('param').webhookId, 'Webhook');
  const delivery = await sendTestEvent(
    c.get('services'),
    c.get('organizationId'),
    id,
    organizationKeyActor(c),
  );
  return c.json({ deliveryId: delivery.id, eventId: delivery.eventId }, 202);
});
