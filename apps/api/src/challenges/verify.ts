import { z } from '@hono/zod-openapi';
import {
  afterWrongCode,
  attemptsPhrase,
  generateToken,
  hashSecret,
  safeEqual,
  TRUSTED_DEVICE_TTL_MS,
  verifyRefusal,
} from '@twofa/core';
import { approveChallenge, recordAudit, recordWrongCode } from '@twofa/db';
import { ApiError } from '../lib/errors.ts';
import { parseId } from '../lib/http.ts';
import { createRouter, errors, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { Authenticated as AuthenticatedSchema } from '../lib/schemas.ts';
import type { ChallengeDeps } from './deps.ts';
import { ChallengeParams, RULES, tags } from './docs.ts';
import { refusalError, userLocked } from './errors.ts';
import { type LoadedChallenge, loadChallenge } from './get.ts';

export interface Authenticated {
  result: 'authenticated';
  userId: string;
  /** Shown once; only its hash is stored. */
  deviceToken: string;
  deviceTokenExpiresAt: string;
}

/** The second step: a right code approves the challenge and trusts the device for 30 days. */
export async function verify(
  deps: ChallengeDeps,
  organizationId: string,
  input: { challengeId: string; code: string },
): Promise<Authenticated> {
  const { appSecret, metrics } = deps;
  const row = await loadChallenge(deps, organizationId, input.challengeId);
  const refusal = verifyRefusal(row, row.dbNow);
  if (refusal) {
    metrics.verifyResults.inc({ result: refusal.code.replace(/^challenge_/, '') });
    throw refusalError(refusal);
  }
  const expected = row.codeHash;
  const given = row.currentSendId
    ? hashSecret(appSecret, 'code', input.code, row.currentSendId)
    : '';
  // Always compare, even when no code was stored yet, so timing says nothing.
  const right = safeEqual(given, expected ?? '') && expected !== null;
  if (right && row.currentSendId) return approve(deps, row, row.currentSendId);
  return countWrongCode(deps, row);
}

/** What a lost race left: the challenge as the winner left it, as a refusal. */
async function reloadRefusal(deps: ChallengeDeps, row: LoadedChallenge) {
  const fresh = await loadChallenge(deps, row.organizationId, row.id);
  return refusalError(
    verifyRefusal(fresh, fresh.dbNow) ?? { code: 'challenge_not_pending', status: 'pending' },
  );
}

async function approve(
  deps: ChallengeDeps,
  row: LoadedChallenge,
  sendId: string,
): Promise<Authenticated> {
  const { appSecret, db, metrics } = deps;
  const organizationId = row.organizationId;
  const deviceToken = generateToken('tfd');
  const expiresAt = new Date(row.dbNow.getTime() + TRUSTED_DEVICE_TTL_MS);
  const approval = await approveChallenge(db.sql, {
    organizationId,
    challengeId: row.id,
    sendId,
    deviceTokenHash: hashSecret(appSecret, 'device-token', deviceToken),
    deviceExpiresAt: expiresAt,
  });
  if (!approval) {
    // A parallel verify won, or the challenge changed under us.
    metrics.verifyResults.inc({ result: 'not_pending' });
    throw await reloadRefusal(deps, row);
  }
  metrics.verifyResults.inc({ result: 'approved' });
  if (approval.phoneSaved) {
    await recordAudit(db.sql, {
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
  return {
    result: 'authenticated',
    userId: approval.userId,
    deviceToken,
    deviceTokenExpiresAt: expiresAt.toISOString(),
  };
}

async function countWrongCode(deps: ChallengeDeps, row: LoadedChallenge): Promise<never> {
  const { metrics } = deps;
  const counted = await recordWrongCode(deps.db.sql, {
    organizationId: row.organizationId,
    challengeId: row.id,
    maxConsecutiveFailures: deps.maxConsecutiveCodeFailures,
  });
  if (!counted) throw await reloadRefusal(deps, row);
  const { attemptsRemaining, locked } = afterWrongCode(counted.wrongAttempts);
  if (counted.userLocked) {
    // The audit events (user_locked, and challenge_locked if it was this one's last attempt)
    // were written by the same statement.
    metrics.verifyResults.inc({ result: 'user_locked' });
    throw userLocked(counted.lockedUntil);
  }
  if (locked) {
    metrics.verifyResults.inc({ result: 'locked' });
    throw new ApiError('challenge_locked', 'Too many wrong codes; the challenge is locked.', {
      attemptsRemaining: 0,
    });
  }
  metrics.verifyResults.inc({ result: 'wrong' });
  throw new ApiError('invalid_code', `The code is wrong. ${attemptsPhrase(attemptsRemaining)}.`, {
    attemptsRemaining,
  });
}

const verifyRoute = orgRoute({
  method: 'post',
  path: '/v1/challenges/{id}/verify',
  tags,
  operationId: 'verifyChallenge',
  summary: 'Check a code',
  description: `A right code approves the challenge and returns a device token good for 30 days. ${RULES}`,
  request: {
    params: ChallengeParams,
    body: jsonBody(z.object({ code: z.string().regex(/^\d{6}$/, 'six digits') })),
  },
  responses: {
    200: jsonResponse(AuthenticatedSchema, 'The code was right; the device token is shown once'),
    ...errors(400, 404, 409, 410, 422, 423),
  },
});

export const verifyRouter = createRouter().openapi(verifyRoute, async (c) => {
  const challengeId = parseId(c.req.valid('param').id, 'Challenge');
  const { code } = c.req.valid('json');
  const result = await c
    .get('services')
    .challenges.verify(c.get('organizationId'), { challengeId, code });
  return c.json(result, 200);
});
