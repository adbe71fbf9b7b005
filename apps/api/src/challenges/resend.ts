import { type ChallengeView, CODE_TTL_MS, challengeView, newId, resendRefusal } from '@twofa/core';
import { type IdempotentAnswer, resendChallenge } from '@twofa/db';
import { ApiError } from '../lib/errors.ts';
import { parseId } from '../lib/http.ts';
import { IDEMPOTENCY_HEADER_DOC, IdempotencyHeaders, idempotent } from '../lib/idempotency.ts';
import { createRouter, errors, jsonResponse, orgRoute } from '../lib/openapi.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { Refund } from '../lib/rate-limits.ts';
import { Challenge } from '../lib/schemas.ts';
import type { ChallengeDeps, RequestLogger } from './deps.ts';
import { ChallengeParams, RULES, tags } from './docs.ts';
import { refusalError } from './errors.ts';
import { loadChallenge } from './get.ts';
import { assertDestinationAllowed } from './phone-rules.ts';
import { admitSend, queueSend, refundUnless } from './send.ts';

/** Another code, honouring the cooldown and the cap. */
export async function resend(
  deps: ChallengeDeps,
  org: CachedOrganization,
  input: { challengeId: string },
  log: RequestLogger = {},
  /** Under an Idempotency-Key: the answer is stored by the resend's own update. */
  idempotency?: IdempotentAnswer,
): Promise<ChallengeView> {
  const organizationId = org.row.id;
  const row = await loadChallenge(deps, organizationId, input.challengeId);
  const now = row.dbNow;
  const refusal = resendRefusal(row, now);
  if (refusal) throw refusalError(refusal);
  // An app user's challenge has no SMS until this asks for one, and only where SMS is allowed.
  if (!row.methods.includes('sms') || !row.phone) {
    throw new ApiError('method_not_allowed', 'This challenge takes no SMS code.', {
      methods: row.methods,
    });
  }
  // The allowed countries may have narrowed since the challenge started.
  if (row.phone) assertDestinationAllowed(org, row.phone);
  const refund: Refund = row.phone
    ? await admitSend(deps, { organizationId, phone: row.phone, ip: row.ip })
    : Refund.none();
  const sendId = newId();
  // Under an Idempotency-Key the answer is stored by the update itself: rendered first,
  // from the row as read and what the update changes (the update checks the row still
  // has the wrong-code count the answer shows).
  const predicted =
    idempotency &&
    challengeView(
      {
        ...row,
        sendCount: row.sendCount + 1,
        expiresAt: new Date(now.getTime() + CODE_TTL_MS),
        latestSend: { status: 'queued', errorCode: null },
      },
      now,
    );
  const resent = await refundUnless(refund, () =>
    resendChallenge(deps.db.sql, {
      organizationId,
      challengeId: row.id,
      sendId,
      now,
      ...(idempotency && predicted
        ? {
            idempotency: {
              ...idempotency,
              body: JSON.stringify(predicted),
              wrongAttempts: row.wrongAttempts,
            },
          }
        : {}),
    }),
  );
  const updated = resent && (predicted ?? challengeView(resent, now));
  if (!updated) {
    // Lost a race with a parallel resend or verify: answer as the winner left it.
    const fresh = await loadChallenge(deps, organizationId, row.id);
    throw refusalError(
      resendRefusal(fresh, fresh.dbNow) ?? {
        code: 'resend_too_soon',
        status: 'pending',
        retryAfterSeconds: 30,
      },
    );
  }
  await queueSend(deps, { challengeId: row.id, sendId }, log);
  return updated;
}

const resendRoute = orgRoute({
  method: 'post',
  path: '/v1/challenges/{id}/resend',
  tags,
  operationId: 'resendChallengeCode',
  summary: 'Send a fresh code',
  description: `Only the latest code is accepted afterwards. ${RULES}\n\nIdempotency-Key: ${IDEMPOTENCY_HEADER_DOC}`,
  request: { params: ChallengeParams, headers: IdempotencyHeaders },
  responses: {
    202: jsonResponse(Challenge, 'A new code is on its way'),
    ...errors(400, 404, 409, 422, 429),
  },
});

export const resendRouter = createRouter().openapi(resendRoute, async (c) => {
  const challengeId = parseId(c.req.valid('param').id, 'Challenge');
  const key = c.req.valid('header')['idempotency-key'];
  const scope = `org:${c.get('organizationId')}`;
  return idempotent(c, { key, scope, body: {}, status: 202 }, (answer) =>
    c
      .get('services')
      .challenges.resend(
        c.get('organization'),
        { challengeId },
        { logger: c.get('logger') },
        answer,
      ),
  );
});
