import { z } from '@hono/zod-openapi';
import {
  afterWrongCode,
  attemptsPhrase,
  type ChallengeRefusal,
  generateToken,
  hashSecret,
  matchesUnderAny,
  type SecondFactorMethod,
  type StoredChallengeStatus,
  TRUSTED_DEVICE_TTL_MS,
  verifyRefusal,
} from '@twofa/core';
import {
  type Approval,
  approveChallenge,
  approveWithCode,
  recordAudit,
  recordWrongCode,
} from '@twofa/db';
import { ApiError, notFound } from '../lib/errors.ts';
import { parseId } from '../lib/http.ts';
import { createRouter, errors, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { Authenticated as AuthenticatedSchema } from '../lib/schemas.ts';
import type { ChallengeDeps } from './deps.ts';
import { ChallengeParams, RULES, tags } from './docs.ts';
import { refusalError, userLocked } from './errors.ts';
import { type LoadedChallenge, loadChallenge } from './get.ts';
import { methodNotAllowed, verifyBackupCode, verifyTotp } from './second-factor-verify.ts';

export interface Authenticated {
  result: 'authenticated';
  userId: string;
  /** Shown once; only its hash is stored. */
  deviceToken: string;
  deviceTokenExpiresAt: string;
  /** The second factor that approved it. */
  method: SecondFactorMethod;
}

/** A 6-digit code (the latest SMS code or an authenticator code), or a backup code. */
export type VerifyInput =
  | { challengeId: string; code: string; backupCode?: undefined }
  | { challengeId: string; backupCode: string; code?: undefined };

/** The second step: a right code approves the challenge and trusts the device for 30 days. */
export async function verify(
  deps: ChallengeDeps,
  organizationId: string,
  input: VerifyInput,
): Promise<Authenticated> {
  if (input.backupCode !== undefined) {
    return verifyBackupCode(deps, organizationId, input.challengeId, input.backupCode);
  }
  const { appSecrets, metrics } = deps;
  const hinted = await approveHinted(deps, organizationId, input.challengeId, input.code);
  if (hinted && 'result' in hinted) return hinted;
  const row = hinted?.challenge ?? (await loadChallenge(deps, organizationId, input.challengeId));
  const refusal = verifyRefusal(row, row.dbNow);
  if (refusal) {
    metrics.verifyResults.inc({ result: refusal.code.replace(/^challenge_/, '') });
    throw refusalError(refusal);
  }
  const sms = row.methods.includes('sms');
  const totp = row.methods.includes('totp');
  if (!sms && !totp) throw methodNotAllowed(row, 'code');
  // Always compare, even when no code was stored yet, so timing says nothing. Under each
  // APP_SECRET_PREVIOUS too: a code a worker still on the old secret sent is right.
  const sendId = row.currentSendId ?? '';
  const right =
    matchesUnderAny(appSecrets, 'code', input.code, row.codeHash ?? '', sendId) &&
    row.codeHash !== null &&
    sms;
  if (right && row.currentSendId) return approve(deps, row, row.currentSendId);
  // Not the SMS code: the user's authenticator code, when the challenge takes one.
  const byApp = totp ? await verifyTotp(deps, row, input.code) : null;
  return byApp ?? countWrongCode(deps, row);
}

/** What a lost race left: the challenge as the winner left it, as a refusal. */
export async function reloadRefusal(
  deps: ChallengeDeps,
  row: LoadedChallenge,
  rule: (challenge: LoadedChallenge, now: Date) => ChallengeRefusal | null = verifyRefusal,
) {
  const fresh = await loadChallenge(deps, row.organizationId, row.id);
  return refusalError(
    rule(fresh, fresh.dbNow) ?? { code: 'challenge_not_pending', status: 'pending' },
  );
}

/**
 * The common verify in one round trip: when this process queued the challenge's
 * send, the code is hashed for that send and checked, and the challenge approved,
 * by one statement guarded by every fact the rules below rely on (see
 * `approveWithCode`). Its answer when nothing was approved (a wrong code, a stale
 * hint, a refusal) is the challenge as that statement read it, for the rules to
 * decide on as after a read. Undefined without a hint.
 */
async function approveHinted(
  deps: ChallengeDeps,
  organizationId: string,
  challengeId: string,
  code: string,
): Promise<Authenticated | { challenge: LoadedChallenge } | undefined> {
  const sendId = deps.sendHints.get(challengeId);
  if (!sendId) return undefined;
  const deviceToken = generateToken('tfd');
  const tried = await approveWithCode(deps.db.sql, {
    organizationId,
    challengeId,
    sendId,
    // Compared by the statement: an HMAC under APP_SECRET, so its timing tells nothing of the code.
    codeHash: hashSecret(deps.appSecret, 'code', code, sendId),
    deviceTokenHash: hashSecret(deps.appSecret, 'device-token', deviceToken),
    deviceTtlMs: TRUSTED_DEVICE_TTL_MS,
  });
  if (!tried) throw notFound('Challenge');
  if (!tried.approval) return { challenge: tried.challenge };
  deps.sendHints.delete(challengeId);
  return approved(
    deps,
    tried.challenge,
    tried.approval,
    deviceToken,
    tried.approval.deviceExpiresAt,
  );
}

async function approve(
  deps: ChallengeDeps,
  row: LoadedChallenge,
  sendId: string,
): Promise<Authenticated> {
  const { appSecret, db, metrics } = deps;
  const deviceToken = generateToken('tfd');
  const expiresAt = new Date(row.dbNow.getTime() + TRUSTED_DEVICE_TTL_MS);
  const approval = await approveChallenge(db.sql, {
    organizationId: row.organizationId,
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
  return approved(deps, row, approval, deviceToken, expiresAt);
}

/** An SMS code approved the challenge: the metrics, a saved phone's event, the answer. */
async function approved(
  deps: ChallengeDeps,
  row: LoadedChallenge,
  approval: Approval,
  deviceToken: string,
  expiresAt: Date,
): Promise<Authenticated> {
  const { db, metrics } = deps;
  metrics.verifyResults.inc({ result: 'approved' });
  metrics.loginsByMethod.inc({ method: 'sms' });
  if (approval.phoneSaved) {
    await recordAudit(db.sql, {
      organizationId: row.organizationId,
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
    method: 'sms',
  };
}

/**
 * One wrong code, whatever its kind (SMS, authenticator, backup code): the
 * challenge's attempts, its lock and the user's consecutive-failure lock.
 */
export async function countWrongCode(
  deps: ChallengeDeps,
  row: LoadedChallenge,
  kind: {
    statuses?: readonly StoredChallengeStatus[];
    rule?: (challenge: LoadedChallenge, now: Date) => ChallengeRefusal | null;
  } = {},
): Promise<never> {
  const { metrics } = deps;
  const counted = await recordWrongCode(deps.db.sql, {
    organizationId: row.organizationId,
    challengeId: row.id,
    maxConsecutiveFailures: deps.maxConsecutiveCodeFailures,
    ...(kind.statuses ? { statuses: kind.statuses } : {}),
  });
  if (!counted) throw await reloadRefusal(deps, row, kind.rule);
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
  description: `A right code approves the challenge and returns a device token good for 30 days. \`code\`: the latest SMS code, or the user's authenticator code (the current 30-second step or one either side; a step used once is refused after). \`backupCode\`: one of the user's unused backup codes (case, spaces and dashes ignored), also taken on phone_required and failed challenges. Wrong ones of every kind count toward the attempts and the user lock. ${RULES}`,
  request: {
    params: ChallengeParams,
    body: jsonBody(
      z
        .object({
          code: z
            .string()
            .regex(/^\d{6}$/, 'six digits')
            .optional(),
          backupCode: z.string().min(1).max(64).optional(),
        })
        .refine((b) => (b.code === undefined) !== (b.backupCode === undefined), {
          message: 'exactly one of code and backupCode',
          path: ['code'],
        }),
    ),
  },
  responses: {
    200: jsonResponse(AuthenticatedSchema, 'The code was right; the device token is shown once'),
    ...errors(400, 404, 409, 410, 422, 423),
  },
});

export const verifyRouter = createRouter().openapi(verifyRoute, async (c) => {
  const challengeId = parseId(c.req.valid('param').id, 'Challenge');
  const body = c.req.valid('json');
  const input =
    body.backupCode !== undefined
      ? { challengeId, backupCode: body.backupCode }
      : { challengeId, code: body.code ?? '' };
  const result = await c.get('services').challenges.verify(c.get('organizationId'), input);
  return c.json(result, 200);
});
