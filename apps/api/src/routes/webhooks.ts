import { z } from '@hono/zod-openapi';
import type { SendStatus } from '@twofa/core';
import { applyDeliveryReceipt } from '@twofa/db';
import { validateTwilioRequest } from '@twofa/sms';
import { ApiError } from '../lib/errors.ts';
import { createRouter, errors } from '../lib/openapi.ts';

/** Twilio message statuses that settle a send; the in-between ones change nothing. */
const RECEIPT_STATUS: Record<string, SendStatus> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const webhooksRouter = createRouter();

webhooksRouter.post('/webhooks/twilio/status', async (c) => {
  const services = c.get('services');
  const { env } = services.config;
  const signature = c.req.header('x-twilio-signature');
  const form = await c.req.parseBody();
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(form))
    if (typeof value === 'string') params[key] = value;
  // Twilio signs the URL it called: our public base URL plus the path and query.
  const requestUrl = new URL(c.req.url);
  const base = env.PUBLIC_BASE_URL?.replace(/\/$/, '') ?? requestUrl.origin;
  const signedUrl = `${base}${requestUrl.pathname}${requestUrl.search}`;
  if (
    !signature ||
    !env.TWILIO_AUTH_TOKEN ||
    !validateTwilioRequest(env.TWILIO_AUTH_TOKEN, signature, signedUrl, params)
  ) {
    throw new ApiError('invalid_signature', 'The X-Twilio-Signature header is missing or wrong.');
  }
  const sendId = c.req.query('sendId');
  const status = RECEIPT_STATUS[params.MessageStatus ?? ''];
  const sid = params.MessageSid ?? params.SmsSid;
  if (!sendId || !UUID.test(sendId) || !sid) {
    throw new ApiError('invalid_request', 'The callback names no send or message.');
  }
  if (status) {
    const applied = await applyDeliveryReceipt(services.db.sql, {
      sendId,
      providerSid: sid,
      status,
      errorCode: params.ErrorCode ? String(params.ErrorCode) : null,
    });
    services.metrics.deliveryReceipts.inc({ status, applied: String(applied) });
    c.get('logger').info({ sendId, status, applied }, 'delivery receipt');
  }
  return c.body(null, 204);
});

webhooksRouter.openAPIRegistry.registerPath({
  method: 'post',
  path: '/webhooks/twilio/status',
  operationId: 'receiveTwilioStatus',
  tags: ['Operations'],
  // Authenticated by X-Twilio-Signature, not by a key.
  security: [],
  summary: 'Twilio delivery receipts (status callbacks)',
  description:
    'Signed by Twilio with X-Twilio-Signature; a missing or wrong signature is 403 and changes ' +
    'nothing. The send only moves forward: sent, then delivered, undelivered or failed.',
  request: {
    query: z.object({ sendId: z.string().uuid() }),
    headers: z.object({ 'x-twilio-signature': z.string() }),
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: z.object({
            MessageSid: z.string(),
            MessageStatus: z.string(),
            ErrorCode: z.string().optional(),
          }),
        },
      },
    },
  },
  responses: { 204: { description: 'Receipt taken' }, ...errors(400, 403) },
});
