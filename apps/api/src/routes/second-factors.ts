import { z } from '@hono/zod-openapi';
import { BACKUP_CODE_COUNT, TOTP_DIGITS } from '@twofa/core';
import {
  confirmTotp,
  disableTotp,
  enrollTotp,
  newBackupCodes,
  resetUserSecondFactors,
} from '../domain/second-factors.ts';
import { organizationKeyActor, parseId } from '../lib/http.ts';
import { createRouter, errors, IdParam, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { User } from '../lib/schemas.ts';
import { userJson } from '../lib/serializers.ts';

const tags = ['Second factors'];
const UserParams = IdParam('userId');

const enrollRoute = orgRoute({
  method: 'post',
  path: '/v1/users/{userId}/totp',
  tags,
  operationId: 'enrollTotp',
  summary: 'Start enrolling an authenticator app (TOTP)',
  description:
    'RFC 6238: SHA-1, 6 digits, 30 s, a 160-bit base32 secret, the organization as issuer. Pending until confirmed by a first code; a new POST replaces a pending enrollment. The secret is shown here once and kept encrypted.',
  request: { params: UserParams },
  responses: {
    201: jsonResponse(
      z.object({ secret: z.string(), otpauthUri: z.string() }).openapi('TotpEnrollment'),
      'The secret and the otpauth:// URI to show as a QR code',
    ),
    ...errors(404, 409),
  },
});

const confirmRoute = orgRoute({
  method: 'post',
  path: '/v1/users/{userId}/totp/confirm',
  tags,
  operationId: 'confirmTotp',
  summary: 'Confirm an authenticator enrollment with a first code',
  request: {
    params: UserParams,
    body: jsonBody(
      z.object({
        code: z
          .string()
          .trim()
          .regex(new RegExp(`^\\d{${TOTP_DIGITS}}$`), `${TOTP_DIGITS} digits`),
      }),
    ),
  },
  responses: {
    200: jsonResponse(User, 'Confirmed: totpEnabled is true'),
    ...errors(400, 404, 409, 422),
  },
});

const removeRoute = orgRoute({
  method: 'delete',
  path: '/v1/users/{userId}/totp',
  tags,
  operationId: 'removeTotp',
  summary: "Remove a user's authenticator app (active or pending)",
  request: { params: UserParams },
  responses: { 200: jsonResponse(User, 'Removed'), ...errors(404) },
});

const backupCodesRoute = orgRoute({
  method: 'post',
  path: '/v1/users/{userId}/backup-codes',
  tags,
  operationId: 'generateBackupCodes',
  summary: 'A new set of backup codes, replacing any earlier set',
  description: `${BACKUP_CODE_COUNT} single-use codes of about 49 bits each, shown once and stored as keyed hashes. Case, spaces and dashes are ignored when one is entered.`,
  request: { params: UserParams },
  responses: {
    201: jsonResponse(
      z.object({ codes: z.array(z.string()) }).openapi('BackupCodes'),
      'The codes, shown once',
    ),
    ...errors(404),
  },
});

const resetRoute = orgRoute({
  method: 'post',
  path: '/v1/users/{userId}/second-factors/reset',
  tags,
  operationId: 'resetSecondFactors',
  summary: "Reset a user's second factors",
  description:
    'In one transaction: phone, authenticator app and backup codes cleared, trusted devices revoked, open challenges canceled and page sessions ended; audit event second_factors_reset. The next login asks for a phone.',
  request: { params: UserParams },
  responses: { 200: jsonResponse(User, 'Reset'), ...errors(404) },
});

export const secondFactorsRouter = createRouter()
  .openapi(enrollRoute, async (c) => {
    const userId = parseId(c.req.valid('param').userId, 'User');
    const enrollment = await enrollTotp(c.get('services'), c.get('organization'), userId);
    return c.json(enrollment, 201);
  })
  .openapi(confirmRoute, async (c) => {
    const userId = parseId(c.req.valid('param').userId, 'User');
    const { code } = c.req.valid('json');
    const user = await confirmTotp(
      c.get('services'),
      c.get('organizationId'),
      userId,
      code,
      organizationKeyActor(c),
    );
    return c.json(userJson(user), 200);
  })
  .openapi(removeRoute, async (c) => {
    const userId = parseId(c.req.valid('param').userId, 'User');
    const user = await disableTotp(
      c.get('services'),
      c.get('organizationId'),
      userId,
      organizationKeyActor(c),
    );
    return c.json(userJson(user), 200);
  })
  .openapi(backupCodesRoute, async (c) => {
    const userId = parseId(c.req.valid('param').userId, 'User');
    const codes = await newBackupCodes(
      c.get('services'),
      c.get('organizationId'),
      userId,
      organizationKeyActor(c),
    );
    return c.json({ codes }, 201);
  })
  .openapi(resetRoute, async (c) => {
    const userId = parseId(c.req.valid('param').userId, 'User');
    const reset = await resetUserSecondFactors(
      c.get('services'),
      c.get('organizationId'),
      userId,
      organizationKeyActor(c),
    );
    return c.json(userJson(reset.user), 200);
  });
