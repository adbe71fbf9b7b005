import { createRoute, z } from '@hono/zod-openapi';
import { hashPassword, normalizePhone, PhoneError } from '@twofa/core';
import { createUser, getUser, recordAudit, revokeTrustedDevices, updateUser } from '@twofa/db';
import type { Context } from 'hono';
import { clientAddress } from '../lib/client-address.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { parseId } from '../lib/http.ts';
import {
  bearerSecurity,
  createRouter,
  errors,
  IdParam,
  jsonBody,
  jsonResponse,
} from '../lib/openapi.ts';
import { Email, Password, PhoneInput, User } from '../lib/schemas.ts';
import { userJson } from '../lib/serializers.ts';
import { organizationAuth } from '../middleware/auth.ts';

const tags = ['Users'];
const UserParams = IdParam('userId');

const postUser = createRoute({
  method: 'post',
  path: '/v1/users',
  tags,
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z.object({ email: Email, password: Password.optional(), phone: PhoneInput.nullish() }),
    ),
  },
  responses: { 201: jsonResponse(User, 'Created'), ...errors(400, 401, 403, 409, 422) },
});

const getUserRoute = createRoute({
  method: 'get',
  path: '/v1/users/{userId}',
  tags,
  security: bearerSecurity,
  request: { params: UserParams },
  responses: { 200: jsonResponse(User, 'The user'), ...errors(401, 403, 404) },
});

const patchUser = createRoute({
  method: 'patch',
  path: '/v1/users/{userId}',
  tags,
  security: bearerSecurity,
  request: {
    params: UserParams,
    body: jsonBody(
      z.object({
        phone: PhoneInput.nullable().optional(),
        twoFactorDisabled: z.boolean().optional(),
        password: Password.optional(),
      }),
    ),
  },
  responses: { 200: jsonResponse(User, 'Updated'), ...errors(400, 401, 403, 404, 422) },
});

const revokeDevices = createRoute({
  method: 'delete',
  path: '/v1/users/{userId}/trusted-devices',
  tags,
  security: bearerSecurity,
  request: { params: UserParams },
  responses: {
    200: jsonResponse(z.object({ revoked: z.number().int() }), 'Trusted devices revoked'),
    ...errors(401, 403, 404),
  },
});

export const usersRouter = createRouter();
usersRouter.use('/v1/users', organizationAuth);
usersRouter.use('/v1/users/*', organizationAuth);

/** Normalizes a phone with the organization's country as the default region. */
export async function parsePhoneFor(c: Context<AppEnv>, input: string): Promise<string> {
  const org = await c.get('services').organizations.get(c.get('organizationId'));
  try {
    return normalizePhone(input, org?.row.country).e164;
  } catch (error) {
    if (error instanceof PhoneError) throw new ApiError('invalid_phone', error.message);
    throw error;
  }
}

usersRouter.openapi(postUser, async (c) => {
  const body = c.req.valid('json');
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  const phone = body.phone ? await parsePhoneFor(c, body.phone) : null;
  const user = await createUser(services.db.sql, {
    organizationId,
    email: body.email,
    passwordHash: body.password ? await hashPassword(body.password) : null,
    phone,
  });
  if (!user) throw new ApiError('email_taken', `A user with email ${body.email} already exists.`);
  await recordAudit(services.db.sql, {
    organizationId,
    type: 'user_created',
    actor: 'organization_key',
    ip: clientAddress(c),
    data: { userId: user.id, hasPhone: phone !== null },
  });
  return c.json(userJson(user), 201);
});

usersRouter.openapi(getUserRoute, async (c) => {
  const id = parseId(c.req.valid('param').userId, 'User');
  const user = await getUser(c.get('services').db.sql, c.get('organizationId'), id);
  if (!user) throw notFound('User');
  return c.json(userJson(user), 200);
});

usersRouter.openapi(patchUser, async (c) => {
  const id = parseId(c.req.valid('param').userId, 'User');
  const body = c.req.valid('json');
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  const phone =
    body.phone === undefined
      ? undefined
      : body.phone === null
        ? null
        : await parsePhoneFor(c, body.phone);
  const result = await updateUser(services.db.sql, organizationId, id, {
    phone,
    twoFactorDisabled: body.twoFactorDisabled,
    passwordHash: body.password ? await hashPassword(body.password) : undefined,
  });
  if (!result) throw notFound('User');
  const { user, previous, revokedDevices } = result;
  const audit = (type: string, data: Record<string, unknown>) =>
    recordAudit(services.db.sql, {
      organizationId,
      type,
      actor: 'organization_key',
      ip: clientAddress(c),
      data,
    });
  if (previous.twoFactorDisabled !== user.twoFactorDisabled) {
    await audit(user.twoFactorDisabled ? 'user_exempted' : 'user_unexempted', { userId: id });
  }
  if (previous.phone !== user.phone) {
    await audit('phone_changed', {
      userId: id,
      hadPhone: previous.phone !== null,
      hasPhone: user.phone !== null,
    });
  }
  if (body.password) await audit('password_changed', { userId: id });
  if (revokedDevices > 0) {
    await audit('trusted_devices_revoked', {
      userId: id,
      revoked: revokedDevices,
      cause: 'credential_changed',
    });
  }
  return c.json(userJson(user), 200);
});

usersRouter.openapi(revokeDevices, async (c) => {
  const id = parseId(c.req.valid('param').userId, 'User');
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  const revoked = await revokeTrustedDevices(services.db.sql, organizationId, id);
  if (revoked === null) throw notFound('User');
  await recordAudit(services.db.sql, {
    organizationId,
    type: 'trusted_devices_revoked',
    actor: 'organization_key',
    ip: clientAddress(c),
    data: { userId: id, revoked },
  });
  return c.json({ revoked }, 200);
});
