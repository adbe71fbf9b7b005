import { z } from '@hono/zod-openapi';
import { hashPassword } from '@twofa/core';
import {
  createUser,
  getUser,
  inTransaction,
  recordAudit,
  revokeTrustedDevices,
  unlockUser,
  updateUser,
} from '@twofa/db';
import { parseUserPhone } from '../challenges/phone-rules.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { clientAddress, parseId } from '../lib/http.ts';
import { createRouter, errors, IdParam, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { Email, Password, PhoneInput, Role, User } from '../lib/schemas.ts';
import { userJson } from '../lib/serializers.ts';

const tags = ['Users'];
const UserParams = IdParam('userId');

const postUser = orgRoute({
  method: 'post',
  path: '/v1/users',
  tags,
  operationId: 'createUser',
  summary: 'Add a user to the organization',
  request: {
    body: jsonBody(
      z.object({
        email: Email,
        password: Password.optional(),
        phone: PhoneInput.nullish(),
        role: Role.optional(),
      }),
    ),
  },
  responses: { 201: jsonResponse(User, 'Created'), ...errors(400, 409, 422) },
});

const getUserRoute = orgRoute({
  method: 'get',
  path: '/v1/users/{userId}',
  tags,
  operationId: 'getUser',
  summary: 'Read a user',
  request: { params: UserParams },
  responses: { 200: jsonResponse(User, 'The user'), ...errors(404) },
});

const patchUser = orgRoute({
  method: 'patch',
  path: '/v1/users/{userId}',
  tags,
  operationId: 'updateUser',
  summary: "Change a user's phone, password, role or exemption",
  description:
    'A new phone or password revokes the trusted devices and cancels open challenges (phone_required or pending become canceled) in the same transaction; twoFactorDisabled exempts the user from the second step.',
  request: {
    params: UserParams,
    body: jsonBody(
      z.object({
        phone: PhoneInput.nullable().optional(),
        twoFactorDisabled: z.boolean().optional(),
        password: Password.optional(),
        role: Role.optional(),
      }),
    ),
  },
  responses: { 200: jsonResponse(User, 'Updated'), ...errors(400, 404, 422) },
});

const revokeDevices = orgRoute({
  method: 'delete',
  path: '/v1/users/{userId}/trusted-devices',
  tags,
  operationId: 'revokeTrustedDevices',
  summary: "Revoke all of a user's trusted devices",
  request: { params: UserParams },
  responses: {
    200: jsonResponse(z.object({ revoked: z.number().int() }), 'Trusted devices revoked'),
    ...errors(404),
  },
});

const unlock = orgRoute({
  method: 'post',
  path: '/v1/users/{userId}/unlock',
  tags,
  operationId: 'unlockUser',
  summary: 'Lift a lock set by too many wrong codes in a row',
  description:
    'A user is locked for 24 hours after MAX_CONSECUTIVE_CODE_FAILURES (default 20) wrong codes in a row over all of their challenges. This lifts the lock now and starts the count again; audit event user_unlocked.',
  request: { params: UserParams },
  responses: { 200: jsonResponse(User, 'Unlocked (lockedUntil is null)'), ...errors(404) },
});

export const usersRouter = createRouter();

usersRouter.openapi(postUser, async (c) => {
  const body = c.req.valid('json');
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  const phone = body.phone ? parseUserPhone(c.get('organization'), body.phone) : null;
  const passwordHash = body.password ? await hashPassword(body.password) : null;
  // The user and its audit event commit together or not at all.
  const user = await inTransaction(services.db.sql, async (tx) => {
    const created = await createUser(tx, {
      organizationId,
      email: body.email,
      passwordHash,
      phone,
      role: body.role,
    });
    if (!created) return null;
    await recordAudit(tx, {
      organizationId,
      type: 'user_created',
      actor: 'organization_key',
      ip: clientAddress(c),
      data: { userId: created.id, hasPhone: phone !== null },
    });
    return created;
  });
  if (!user) throw new ApiError('email_taken', `A user with email ${body.email} already exists.`);
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
        : parseUserPhone(c.get('organization'), body.phone);
  const result = await updateUser(services.db.sql, organizationId, id, {
    phone,
    role: body.role,
    twoFactorDisabled: body.twoFactorDisabled,
    passwordHash: body.password ? await hashPassword(body.password) : undefined,
  });
  if (!result) throw notFound('User');
  const { user, previous, revokedDevices, canceledChallenges } = result;
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
      canceledChallenges,
    });
  }
  if (body.password) await audit('password_changed', { userId: id, canceledChallenges });
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
  // The revocation and its audit event commit together or not at all.
  const revoked = await inTransaction(services.db.sql, async (tx) => {
    const count = await revokeTrustedDevices(tx, organizationId, id);
    if (count === null) return null;
    await recordAudit(tx, {
      organizationId,
      type: 'trusted_devices_revoked',
      actor: 'organization_key',
      ip: clientAddress(c),
      data: { userId: id, revoked: count },
    });
    return count;
  });
  if (revoked === null) throw notFound('User');
  return c.json({ revoked }, 200);
});

usersRouter.openapi(unlock, async (c) => {
  const id = parseId(c.req.valid('param').userId, 'User');
  const user = await unlockUser(c.get('services').db.sql, {
    organizationId: c.get('organizationId'),
    userId: id,
    actor: 'organization_key',
    ip: clientAddress(c),
  });
  if (!user) throw notFound('User');
  return c.json(userJson(user), 200);
});
