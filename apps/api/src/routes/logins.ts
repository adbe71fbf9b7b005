import { createRoute, z } from '@hono/zod-openapi';
import { dummyPasswordHash, isValidIp, verifyPassword } from '@twofa/core';
import { loadLoginContext } from '@twofa/db';
import type { Context } from 'hono';
import { decideAndStart, deviceTokenHash } from '../lib/challenge-flow.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { parseId } from '../lib/http.ts';
import { bearerSecurity, createRouter, errors, jsonBody, jsonResponse } from '../lib/openapi.ts';
import { clientIpKey } from '../lib/rate-limits.ts';
import { DeviceToken, Email, Ip, LoginResult, Password } from '../lib/schemas.ts';
import { organizationAuth } from '../middleware/auth.ts';

const ClientIp = Ip.refine(isValidIp, 'an IPv4 or IPv6 address');

const postLogin = createRoute({
  method: 'post',
  path: '/v1/logins',
  tags: ['Logins'],
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z.object({
        email: Email,
        password: Password,
        ip: ClientIp,
        deviceToken: DeviceToken.optional(),
      }),
    ),
  },
  responses: {
    200: jsonResponse(LoginResult, 'Authenticated, or a challenge to complete'),
    ...errors(400, 401, 403, 422, 429),
  },
});

const postChallenge = createRoute({
  method: 'post',
  path: '/v1/challenges',
  tags: ['Logins'],
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z.object({ userId: z.string().max(64), ip: ClientIp, deviceToken: DeviceToken.optional() }),
    ),
  },
  responses: {
    200: jsonResponse(LoginResult, 'Authenticated, or a challenge to complete'),
    ...errors(400, 401, 403, 404, 422, 429),
  },
});

export const loginsRouter = createRouter();
loginsRouter.use('/v1/logins', organizationAuth);
loginsRouter.use('/v1/challenges', organizationAuth);

async function organization(c: Context<AppEnv>) {
  const org = await c.get('services').organizations.get(c.get('organizationId'));
  if (!org) throw notFound('Organization');
  return org;
}

const invalidCredentials = () =>
  new ApiError('invalid_credentials', 'The email or password is wrong.');

loginsRouter.openapi(postLogin, async (c) => {
  const body = c.req.valid('json');
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  const accountKey = `${organizationId}:${body.email.toLowerCase()}`;
  // Password guessing is throttled per end-user address and per account before any hash is computed.
  // The lookups run alongside the limit checks; a refusal still lands before the hash.
  const [, , org, context, dummyHash] = await Promise.all([
    services.rateLimits.consume('ip_logins', clientIpKey(body.ip)),
    services.rateLimits.assertOpen('account_failures', accountKey),
    organization(c),
    loadLoginContext(
      services.db.sql,
      organizationId,
      { email: body.email },
      deviceTokenHash(c, body.deviceToken),
    ),
    // Awaited on every path, so the one-time cost of making it lands on known and unknown emails alike.
    dummyPasswordHash(),
  ]);
  // Unknown emails and users without a password cost the same hash as a wrong password.
  const stored = context?.user.passwordHash ?? dummyHash;
  const ok = await verifyPassword(body.password, stored);
  if (!ok || !context?.user.passwordHash) {
    await services.rateLimits.penalize('account_failures', accountKey);
    throw invalidCredentials();
  }
  return c.json(await decideAndStart(c, org, context, body.ip), 200);
});

loginsRouter.openapi(postChallenge, async (c) => {
  const body = c.req.valid('json');
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  const userId = parseId(body.userId, 'User');
  const [org, context] = await Promise.all([
    organization(c),
    loadLoginContext(
      services.db.sql,
      organizationId,
      { userId },
      deviceTokenHash(c, body.deviceToken),
    ),
  ]);
  if (!context) throw notFound('User');
  // After the lookup: an unknown user is a 404 before it is a 429 (the contract's precedence).
  await services.rateLimits.consume('ip_logins', clientIpKey(body.ip));
  return c.json(await decideAndStart(c, org, context, body.ip), 200);
});
