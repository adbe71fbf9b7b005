import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import {
  effectiveStatus,
  generateToken,
  hashSecret,
  MAX_SENDS_PER_CHALLENGE,
  MAX_WRONG_ATTEMPTS,
  RESEND_COOLDOWN_MS,
  safeEqual,
} from '@twofa/core';
import {
  approveChallenge,
  type ChallengeRow,
  getChallenge,
  recordAudit,
  recordWrongCode,
  resendChallenge,
  submitChallengePhone,
} from '@twofa/db';
import type { Context } from 'hono';
import {
  admitSend,
  assertDestinationAllowed,
  challengeJson,
  newDeviceToken,
  queueSend,
} from '../lib/challenge-flow.ts';
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
import { Challenge, PhoneInput } from '../lib/schemas.ts';
import { organizationAuth } from '../middleware/auth.ts';
import { parsePhoneFor } from './users.ts';

const tags = ['Challenges'];
const Params = IdParam('id');

const getRoute = createRoute({
  method: 'get',
  path: '/v1/challenges/{id}',
  tags,
  security: bearerSecurity,
  request: { params: Params },
  responses: { 200: jsonResponse(Challenge, 'The challenge'), ...errors(401, 403, 404) },
});

const phoneRoute = createRoute({
  method: 'post',
  path: '/v1/challenges/{id}/phone',
  tags,
  security: bearerSecurity,
  request: { params: Params, body: jsonBody(z.object({ phone: PhoneInput })) },
  responses: {
    200: jsonResponse(Challenge, 'The phone is set and a code is on its way'),
    ...errors(400, 401, 403, 404, 409, 410, 422, 429),
  },
});

const resendRoute = createRoute({
  method: 'post',
  path: '/v1/challenges/{id}/resend',
  tags,
  security: bearerSecurity,
  request: { params: Params },
  responses: {
    202: jsonResponse(Challenge, 'A new code is on its way'),
    ...errors(401, 403, 404, 409, 429),
  },
});

const verifyRoute = createRoute({
  method: 'post',
  path: '/v1/challenges/{id}/verify',
  tags,
  security: bearerSecurity,
  request: {
    params: Params,
    body: jsonBody(z.object({ code: z.string().regex(/^\d{6}$/, 'six digits') })),
  },
  responses: {
    200: jsonResponse(
      z.object({
        result: z.literal('authenticated'),
        userId: z.string(),
        deviceToken: z.string(),
        deviceTokenExpiresAt: z.string(),
      }),
      'The code was right; the device token is shown once',
    ),
    ...errors(400, 401, 403, 404, 409, 410, 422, 423),
  },
});

export const challengesRouter = createRouter();
challengesRouter.use('/v1/challenges/*', organizationAuth);

async function load(c: Context<AppEnv>, rawId: string) {
  const id = parseId(rawId, 'Challenge');
  const row = await getChallenge(c.get('services').db.sql, c.get('organizationId'), id);
  if (!row) throw notFound('Challenge');
  return row;
}

/** Maps a challenge that is not open for verification to its contract error. */
function notOpen(row: Pick<ChallengeRow, 'status' | 'expiresAt'>, now: Date): ApiError | null {
  const status = effectiveStatus(row, now);
  switch (status) {
    case 'pending':
      return null;
    case 'expired':
      return new ApiError('challenge_expired', 'The challenge has expired; start a new one.');
    case 'locked':
      return new ApiError('challenge_locked', 'Too many wrong codes; start a new challenge.');
    default:
      return new ApiError('challenge_not_pending', `The challenge is ${status}.`, {
        challengeStatus: status,
      });
  }
}

challengesRouter.openapi(getRoute, async (c) => {
  const row = await load(c, c.req.valid('param').id);
  return c.json(challengeJson(c, row), 200);
});

challengesRouter.openapi(phoneRoute, async (c) => {
  const services = c.get('services');
  const phone = await parsePhoneFor(c, c.req.valid('json').phone);
  const org = await services.organizations.get(c.get('organizationId'));
  if (org) assertDestinationAllowed(org, phone);
  const row = await load(c, c.req.valid('param').id);
  const now = services.clock.now();
  const status = effectiveStatus(row, now);
  if (status === 'expired') throw new ApiError('challenge_expired', 'The challenge has expired.');
  if (status !== 'phone_required') {
    throw new ApiError('phone_already_set', `The challenge is ${status}; it takes no phone.`, {
      challengeStatus: status,
    });
  }
  await admitSend(c, phone, row.ip);
  const sendId = randomUUID();
  const updated = await submitChallengePhone(services.db.sql, {
    organizationId: c.get('organizationId'),
    challengeId: row.id,
    phone,
    sendId,
    now,
  });
  if (!updated) throw new ApiError('phone_already_set', 'The challenge already has a phone.');
  await queueSend(c, sendId);
  return c.json(challengeJson(c, updated), 200);
});

challengesRouter.openapi(resendRoute, async (c) => {
  const services = c.get('services');
  const row = await load(c, c.req.valid('param').id);
  const now = services.clock.now();
  const status = effectiveStatus(row, now);
  if (status !== 'pending') {
    throw new ApiError('challenge_not_pending', `The challenge is ${status}.`, {
      challengeStatus: status,
    });
  }
  if (row.sendCount >= MAX_SENDS_PER_CHALLENGE) {
    throw new ApiError(
      'too_many_sends',
      `A challenge sends at most ${MAX_SENDS_PER_CHALLENGE} codes.`,
    );
  }
  const waitMs = row.lastSendAt ? row.lastSendAt.getTime() + RESEND_COOLDOWN_MS - now.getTime() : 0;
  if (waitMs > 0) {
    const retryAfter = Math.ceil(waitMs / 1000);
    throw new ApiError(
      'resend_too_soon',
      `Wait ${retryAfter} s before asking for another code.`,
      { retryAfter },
      { 'retry-after': String(retryAfter) },
    );
  }
  if (row.phone) await admitSend(c, row.phone, row.ip);
  const sendId = randomUUID();
  const updated = await resendChallenge(services.db.sql, {
    organizationId: c.get('organizationId'),
    challengeId: row.id,
    sendId,
    now,
  });
  if (!updated) {
    // Lost a race with a parallel resend or verify: answer as the winner left it.
    const fresh = await load(c, row.id);
    if (fresh.sendCount >= MAX_SENDS_PER_CHALLENGE) {
      throw new ApiError(
        'too_many_sends',
        `A challenge sends at most ${MAX_SENDS_PER_CHALLENGE} codes.`,
      );
    }
    if (effectiveStatus(fresh, now) !== 'pending') {
      throw new ApiError(
        'challenge_not_pending',
        `The challenge is ${effectiveStatus(fresh, now)}.`,
      );
    }
    throw new ApiError(
      'resend_too_soon',
      'Another code was just sent.',
      {},
      { 'retry-after': '30' },
    );
  }
  await queueSend(c, sendId);
  return c.json(challengeJson(c, updated), 202);
});

challengesRouter.openapi(verifyRoute, async (c) => {
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  const { code } = c.req.valid('json');
  const row = await load(c, c.req.valid('param').id);
  const now = services.clock.now();
  const refusal = notOpen(row, now);
  if (refusal) {
    services.metrics.verifyResults.inc({ result: refusal.code.replace(/^challenge_/, '') });
    throw refusal;
  }
  const expected = row.codeHash;
  const given = row.currentSendId
    ? hashSecret(services.config.appSecret, 'code', code, row.currentSendId)
    : '';
  // Always compare, even when no code was stored yet, so timing says nothing.
  const right = safeEqual(given, expected ?? '') && expected !== null;
  if (right && row.currentSendId) {
    const deviceToken = generateToken('tfd');
    const { expiresAt } = newDeviceToken(now);
    const approval = await approveChallenge(services.db.sql, {
      organizationId,
      challengeId: row.id,
      sendId: row.currentSendId,
      deviceTokenHash: hashSecret(services.config.appSecret, 'device-token', deviceToken),
      deviceExpiresAt: expiresAt,
      now,
    });
    if (approval) {
      services.metrics.verifyResults.inc({ result: 'approved' });
      if (approval.phoneSaved) {
        await recordAudit(services.db.sql, {
          organizationId,
          type: 'phone_changed',
          actor: 'user',
          ip: row.ip,
          data: {
            userId: approval.userId,
            via: 'challenge',
            revokedDevices: approval.revokedDevices,
          },
        });
      }
      return c.json(
        {
          result: 'authenticated' as const,
          userId: approval.userId,
          deviceToken,
          deviceTokenExpiresAt: expiresAt.toISOString(),
        },
        200,
      );
    }
    // A parallel verify won, or the challenge changed under us.
    const fresh = await load(c, row.id);
    services.metrics.verifyResults.inc({ result: 'not_pending' });
    throw notOpen(fresh, now) ?? new ApiError('challenge_not_pending', 'The challenge changed.');
  }
  const counted = await recordWrongCode(services.db.sql, {
    organizationId,
    challengeId: row.id,
    now,
  });
  if (!counted) {
    const fresh = await load(c, row.id);
    throw notOpen(fresh, now) ?? new ApiError('challenge_not_pending', 'The challenge changed.');
  }
  if (counted.status === 'locked') {
    services.metrics.verifyResults.inc({ result: 'locked' });
    await recordAudit(services.db.sql, {
      organizationId,
      type: 'challenge_locked',
      actor: 'system',
      ip: row.ip,
      data: { challengeId: row.id, userId: row.userId, wrongAttempts: counted.wrongAttempts },
    });
    throw new ApiError('challenge_locked', 'Too many wrong codes; the challenge is locked.', {
      attemptsRemaining: 0,
    });
  }
  services.metrics.verifyResults.inc({ result: 'wrong' });
  const attemptsRemaining = MAX_WRONG_ATTEMPTS - counted.wrongAttempts;
  throw new ApiError(
    'invalid_code',
    `The code is wrong. ${attemptsRemaining} attempt${attemptsRemaining === 1 ? '' : 's'} remain.`,
    { attemptsRemaining },
  );
});
