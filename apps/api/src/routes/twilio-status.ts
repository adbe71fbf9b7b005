import { createRoute, z } from '@hono/zod-openapi';
import { applyDeliveryReceipt } from '@twofa/db';
import { formParams, parseStatusCallback, validateTwilioRequest } from '@twofa/sms';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import { createRouter, errors } from '../lib/openapi.ts';
import { Uuid } from '../lib/schemas.ts';

/**
 * Refuses a callback Twilio did not sign (403), before anything else about it
 * is looked at: a forged request learns nothing from a validation answer.
 */
const twilioSignature: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { env } = c.get('services').config;
  const signature = c.req.header('x-twilio-signature');
  const params = formParams(await c.req.parseBody());
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
  await next();
};

const statusRoute = createRoute({
  method: 'post',
  path: '/webhooks/twilio/status',
  operationId: 'receiveTwilioStatus',
  tags: ['Operations'],
  // Authenticated by X-Twilio-Signature, not by a key.
  security: [],
  middleware: [twilioSignature] as const,
  summary: 'Twilio delivery receipts (status callbacks)',
  description:
    'Signed by Twilio with X-Twilio-Signature; a missing or wrong signature is 403 and changes ' +
    'nothing. The send only moves forward: sent, then delivered, undelivered or failed.',
  request: {
    query: z.object({ sendId: z.string().openapi({ format: 'uuid' }) }),
    headers: z.object({ 'x-twilio-signature': z.string() }),
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          // What the handler reads; Twilio posts more, and the signature covers all of it.
          schema: z.object({
            MessageSid: z.string().optional(),
            SmsSid: z.string().optional(),
            MessageStatus: z.string().optional(),
            ErrorCode: z.string().optional(),
          }),
        },
      },
    },
  },
  responses: { 204: { description: 'Receipt taken' }, ...errors(400, 403) },
});

export const twilioStatusRouter = createRouter().openapi(statusRoute, async (c) => {
  const services = c.get('services');
  const sendId = Uuid.safeParse(c.req.valid('query').sendId);
  const callback = parseStatusCallback(formParams(await c.req.parseBody()));
  if (!sendId.success || !callback.messageSid) {
    throw new ApiError('invalid_request', 'The callback names no send or message.');
  }
  const { status } = callback;
  if (status) {
    const applied = await applyDeliveryReceipt(services.db.sql, {
      sendId: sendId.data,
      providerSid: callback.messageSid,
      status,
      errorCode: callback.errorCode,
    });
    services.metrics.deliveryReceipts.inc({ status, applied: String(applied) });
    c.get('logger').info({ sendId: sendId.data, status, applied }, 'delivery receipt');
  }
  return c.body(null, 204);
});
